/** Running local commands for the lab: captured output, timeouts, and polling a condition. */
import { spawn } from 'node:child_process';
import { TskvError } from '../controller/errors.ts';
import { waitFor } from '../controller/wait.ts';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs a command to completion; never throws for a non-zero exit (see runOk). */
export function run(cmd: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timeoutMs = options.timeoutMs ?? 120_000;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new TskvError('E_LAB_EXEC', `cannot run ${cmd}`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString();
      resolve({
        code: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15),
        stdout: Buffer.concat(out).toString(),
        stderr: signal ? `${stderr}(killed by ${signal} after ${timeoutMs} ms)` : stderr,
      });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a command and returns its stdout; a non-zero exit becomes a TskvError with its stderr. */
export async function runOk(cmd: string, args: string[], options: RunOptions & { step?: string } = {}) {
  const res = await run(cmd, args, options);
  if (res.code !== 0) {
    const detail = (res.stderr || res.stdout).trim().split('\n').slice(-5).join('\n');
    throw new TskvError('E_LAB_EXEC', `${cmd} ${args.join(' ')} exited with ${res.code}: ${detail}`, {
      step: options.step,
    });
  }
  return res.stdout;
}

/** Polls `check` until it returns a value other than undefined, or throws after the deadline. */
export function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 30_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  return waitFor(check, { deadlineMs: timeoutMs, intervalMs, describe: what, isFatal: () => true });
}

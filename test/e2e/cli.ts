/** Runs the real `tskv` CLI as an operator would, for end-to-end tests. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tskv');
const SEAMED = join(import.meta.dirname, 'tskv-seams.ts');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Run tskv from its sources with the runner's test seams set (see test/e2e/tskv-seams.ts). */
  seams?: string[];
  /** tskv's stdin (default: none, as from /dev/null). */
  input?: string;
}

/** `tskv` as a child the test can kill mid-way; `exited` settles when it has closed its output. */
export function spawnTskv(
  args: string[],
  options: Pick<CliOptions, 'env' | 'seams' | 'input'> = {},
): { kill(signal?: NodeJS.Signals): void; exited: Promise<CliResult>; stdout(): string; stderr(): string } {
  const [cmd, argv] = options.seams
    ? [process.execPath, [SEAMED, ...options.seams, '--', ...args]]
    : [BIN, args];
  const child = spawn(cmd, argv, {
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d;
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d;
  });
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return {
    kill: (signal = 'SIGKILL') => child.kill(signal),
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
  };
}

/** `tskv <args>` to the end, killed after `timeoutMs` (default 180 s). */
export async function tskv(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const run = spawnTskv(args, options);
  const timer = setTimeout(run.kill, options.timeoutMs ?? 180_000);
  try {
    return await run.exited;
  } finally {
    clearTimeout(timer);
  }
}

/** `tskv <args> --json`, parsed; the raw result is kept for failure messages. */
export async function tskvJson<T>(args: string[]): Promise<{ result: CliResult; doc: T }> {
  const result = await tskv([...args, '--json']);
  try {
    return { result, doc: JSON.parse(result.stdout) as T };
  } catch {
    throw new Error(
      `tskv ${args.join(' ')} --json printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`,
    );
  }
}

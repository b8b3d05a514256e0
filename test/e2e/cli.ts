/** Runs the real `tskv` CLI as an operator would, for end-to-end tests. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tskv');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function tskv(
  args: string[],
  options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
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

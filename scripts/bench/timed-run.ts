/** Running a command as the operator would and timing it (wall clock, process start included). */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type RunOptions, type RunResult, run } from '../../test/lab/run.ts';

/** This checkout's CLI, run as an operator runs it. */
export const TSKV = join(import.meta.dirname, '..', '..', 'bin', 'tskv');

export interface TimedRun extends RunResult {
  ms: number;
}

export async function timedRun(cmd: string, args: string[], options: RunOptions = {}): Promise<TimedRun> {
  const started = performance.now();
  const result = await run(cmd, args, { timeoutMs: 600_000, ...options });
  return { ...result, ms: performance.now() - started };
}

/** The last lines of a run's output, for a failure message. */
export function outputTail(r: RunResult, lines = 15): string {
  return `${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-lines).join('\n');
}

/** Running a command as the operator would and timing it (wall clock, process start included). */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { RunOptions, RunResult } from '../../lab/run.ts';

/** This checkout's CLI, run as an operator runs it. */
export const TSKV = join(import.meta.dirname, '..', '..', 'bin', 'tskv');

/** An output line (stdout or stderr) and when it arrived, in ms after the start. */
export interface TimedLine {
  ms: number;
  text: string;
}

export interface TimedRun extends RunResult {
  ms: number;
  lines: TimedLine[];
}

export function timedRun(cmd: string, args: string[], options: RunOptions = {}): Promise<TimedRun> {
  const started = performance.now();
  const lines: TimedLine[] = [];
  const out = { stdout: '', stderr: '' };
  const partial = { stdout: '', stderr: '' };
  const take = (stream: 'stdout' | 'stderr', chunk: string) => {
    out[stream] += chunk;
    const parts = (partial[stream] + chunk).split('\n');
    partial[stream] = parts.pop() ?? '';
    const ms = performance.now() - started;
    for (const text of parts) lines.push({ ms, text });
  };
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env, cwd: options.cwd });
    child.stdout.setEncoding('utf8').on('data', (d: string) => take('stdout', d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => take('stderr', d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      for (const s of ['stdout', 'stderr'] as const) if (partial[s]) lines.push({ ms, text: partial[s] });
      resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : 143), ...out, ms, lines });
    });
  });
}

/** The last lines of a run's output (stdout and stderr as they came), for a failure message. */
export function outputTail(r: TimedRun, lines = 15): string {
  return r.lines
    .slice(-lines)
    .map((l) => l.text)
    .join('\n');
}

/** The output with each line's arrival time, as kept in .cache/bench/logs/. */
export function timeline(r: TimedRun): string {
  return r.lines.map((l) => `${(l.ms / 1000).toFixed(2).padStart(7)}  ${l.text}`).join('\n');
}

/**
 * Where a tskv run spent its time: listr2's plain output opens a task with "❯ TITLE" and closes it
 * with "✔ TITLE"; the time between the two, for every task that is not a single host's.
 */
import { summarize } from './stats.ts';
import type { TimedLine } from './timed-run.ts';

export interface PhaseTime {
  phase: string;
  ms: number;
}

const OPEN = /^\s*❯\s+(.+?)\s*$/;
const DONE = /^\s*✔\s+(.+?)\s*$/;

export function phaseTimes(lines: TimedLine[], hosts: readonly string[]): PhaseTime[] {
  const opened = new Map<string, number>();
  const phases: PhaseTime[] = [];
  for (const { ms, text } of lines) {
    const open = OPEN.exec(text)?.[1];
    if (open !== undefined && !hosts.includes(open)) opened.set(open, ms);
    const done = DONE.exec(text)?.[1];
    const start = done === undefined ? undefined : opened.get(done);
    if (done !== undefined && start !== undefined) {
      phases.push({ phase: done, ms: ms - start });
      opened.delete(done);
    }
  }
  return phases;
}

/** Per phase (in first-seen order), the median over runs. */
export function medianPhases(runs: PhaseTime[][]): PhaseTime[] {
  const byPhase = new Map<string, number[]>();
  for (const run of runs) for (const p of run) byPhase.set(p.phase, [...(byPhase.get(p.phase) ?? []), p.ms]);
  return [...byPhase].map(([phase, ms]) => ({ phase, ms: summarize(ms)!.median }));
}

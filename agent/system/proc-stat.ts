import { readFileSync } from 'node:fs';

export interface ProcStat {
  /** R, S, D, Z (zombie), T, ... */
  state: string;
  ppid: number;
  /** Clock ticks after boot when the process started: with the pid, a process's identity. */
  startTime: number;
}

/** Parse /proc/PID/stat (the command name, in parentheses, may hold spaces and parentheses). */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).split(' ');
  const startTime = Number(fields[19]);
  if (!fields[0] || !Number.isFinite(startTime)) return null;
  return { state: fields[0], ppid: Number(fields[1]), startTime };
}

export function procStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

/** A live (not zombie) process with this pid, and, when given, this start time (so not a reused pid). */
export function processAlive(pid: number, startTime?: number): boolean {
  const s = procStat(pid);
  if (!s || s.state === 'Z' || s.state === 'X') return false;
  return startTime === undefined || s.startTime === startTime;
}

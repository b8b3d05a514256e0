import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TSKV_RUN_DIR } from '../api/index.ts';

export interface SupervisorPaths {
  pidFile: string;
  stateFile: string;
  /** Held (flock) by the supervisor for its whole life: a second one exits at once. */
  lockFile: string;
}

/** Where the supervisor keeps its pid, state and lock: TSKV_RUN_DIR on a host. */
export function supervisorPaths(runDir = TSKV_RUN_DIR): SupervisorPaths {
  return {
    pidFile: join(runDir, 'etcd-supervisor.pid'),
    stateFile: join(runDir, 'etcd-supervisor.json'),
    lockFile: join(runDir, 'etcd-supervisor.lock'),
  };
}

export interface ExitRecord {
  code: number | null;
  signal: string | null;
  atMs: number;
  /** What happened ("exit 1", "killed by SIGKILL", "cannot start: ENOENT", ...). */
  reason: string;
}

/** What `tskv-agent supervise` writes after every change, so `status` answers without guessing. */
export interface SupervisorState {
  supervisorPid: number;
  /** /proc start time of the supervisor (with the pid: its identity). */
  supervisorStartTime: number;
  binary: string;
  envFile: string;
  logFile: string;
  /**
   * The uid and gid etcd runs as (no supplementary groups). Absent: etcd runs as the supervisor's
   * own user, root, as every supervisor before etcd had a user of its own.
   */
  uid?: number;
  gid?: number;
  /** starting · running · backoff (waiting to restart a crashed etcd) · stopping · exited */
  phase: 'starting' | 'running' | 'backoff' | 'stopping' | 'exited';
  etcdPid: number | null;
  /** The program etcd was started from: `binary` resolved at that moment (a link may move on). */
  binaryTarget?: string | null;
  etcdStartTime: number | null;
  /** Wall clock ms when the current etcd was started. */
  startedAtMs: number | null;
  /** How many times etcd was started (the first start included). */
  spawns: number;
  /** Starts after the first (crash restarts and SIGHUP restarts). */
  restarts: number;
  lastExit: ExitRecord | null;
  updatedAtMs: number;
}

export function readSupervisorState(stateFile: string): SupervisorState | null {
  try {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as SupervisorState;
    return typeof state.supervisorPid === 'number' ? state : null;
  } catch {
    return null;
  }
}

/** Replace the state file atomically (synchronous: also used on the way out of the process). */
export function writeSupervisorState(stateFile: string, state: SupervisorState): void {
  const temp = `${stateFile}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o644 });
  renameSync(temp, stateFile);
}

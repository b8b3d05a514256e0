import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { readSupervisorState, type SupervisorPaths, type SupervisorState } from '../supervisor/state.ts';
import { processAlive } from './proc-stat.ts';

const SELF_EXE = '/proc/self/exe';

/**
 * The command that runs this agent: the runtime (Node) with its flags and the agent's code file
 * (on a host: /var/lib/tskv/agent/node-<sha> /var/lib/tskv/agent/tskv-agent-<buildId>; under
 * development, Node and agent/main.ts). An install does not remove files a running process names,
 * but a runtime removed by hand stays reachable as /proc/self/exe (its path reads "... (deleted)").
 */
export function agentCommand(): string[] {
  const runtime = existsSync(process.execPath) ? process.execPath : SELF_EXE;
  return [runtime, ...process.execArgv, process.argv[1] ?? 'agent/main.ts'];
}

export interface SuperviseTarget {
  binary: string;
  envFile: string;
  logFile: string;
}

/** Who the supervisor runs etcd as. */
export interface SuperviseAs {
  uid: number;
  gid: number;
}

export interface SupervisorView {
  state: SupervisorState | null;
  /** The supervisor recorded in the state file is alive (same pid and start time). */
  supervisorAlive: boolean;
  /** The etcd it recorded is alive: the supervisor's child, or an orphan of a killed supervisor. */
  etcdAlive: boolean;
}

export function viewSupervisor(paths: SupervisorPaths): SupervisorView {
  const state = readSupervisorState(paths.stateFile);
  if (!state) return { state, supervisorAlive: false, etcdAlive: false };
  // A supervisor that wrote "exited" is on its way out: it no longer supervises anything.
  const supervisorAlive =
    state.phase !== 'exited' && processAlive(state.supervisorPid, state.supervisorStartTime || undefined);
  const etcdAlive = state.etcdPid !== null && processAlive(state.etcdPid, state.etcdStartTime ?? undefined);
  return { state, supervisorAlive, etcdAlive };
}

/**
 * Start `tskv-agent supervise` detached: a new session and process group (setsid), stdin from
 * /dev/null, stdout/stderr appended to the log, not waited for, so it outlives this agent and
 * the SSH session that started it. Returns its pid.
 */
export async function launchSupervisor(
  command: string[],
  target: SuperviseTarget,
  paths: SupervisorPaths,
  runAs: SuperviseAs,
): Promise<number> {
  mkdirSync(dirname(target.logFile), { recursive: true, mode: 0o755 });
  mkdirSync(dirname(paths.stateFile), { recursive: true, mode: 0o755 });
  const [file, ...prefix] = command;
  if (!file) throw new Error('no agent command to start the supervisor with');
  const args = [
    ...prefix,
    'supervise',
    ...['--env', target.envFile, '--binary', target.binary, '--log', target.logFile],
    ...['--pidfile', paths.pidFile, '--state', paths.stateFile, '--lock', paths.lockFile],
    ...['--uid', String(runAs.uid), '--gid', String(runAs.gid)],
  ];
  const logFd = openSync(target.logFile, 'a', 0o640);
  try {
    // Without the controller's TSKV_RUN marker: stopping the agent's SSH command kills every process
    // carrying it, and the supervisor (and its etcd) must outlive the agent.
    const { TSKV_RUN: _marker, ...env } = process.env;
    // argv[0] as ps shows it: the agent's path, even when it runs through /proc/self/exe.
    const argv0 = file === SELF_EXE ? process.execPath.replace(/ \(deleted\)$/, '') : file;
    const child = spawn(file, args, {
      argv0,
      detached: true,
      stdio: ['ignore', logFd, logFd],
      cwd: '/',
      env,
    });
    child.unref();
    return await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid ?? 0));
      child.once('error', reject);
    });
  } finally {
    closeSync(logFd);
  }
}

/** Send a signal; false when the process is already gone. */
export function signal(pid: number, name: NodeJS.Signals): boolean {
  try {
    process.kill(pid, name);
    return true;
  } catch {
    return false;
  }
}

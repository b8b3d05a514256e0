import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { parseEnvFile } from '../api/env-file.ts';
import { tryFileLock } from '../system/host-lock.ts';
import { procStat } from '../system/proc-stat.ts';
import { type ExitRecord, type SupervisorState, writeSupervisorState } from './state.ts';

export interface SuperviseOptions {
  envFile: string;
  binary: string;
  logFile: string;
  pidFile: string;
  stateFile: string;
  /** Held for the supervisor's whole life: a second supervisor started meanwhile exits at once. */
  lockFile: string;
  /** Who etcd runs as (setgid, setuid, supplementary groups dropped); absent: the supervisor's own user. */
  runAs?: { uid: number; gid: number };
}

/** systemd's PATH for services: etcd gets exactly its env file's variables plus this. */
const SERVICE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 10_000;
/** A run this long counts as healthy: the next crash starts the backoff from the beginning again. */
const HEALTHY_RUN_MS = 10_000;
const STOP_GRACE_MS = 10_000;

function describeExit(code: number | null, signal: string | null): string {
  return signal ? `killed by ${signal}` : `exit ${code}`;
}

/**
 * `tskv-agent supervise`: run etcd with the env file's variables, its output appended to the log;
 * restart it when it crashes (non-zero exit or signal; backoff 1 s doubling to 10 s), not after
 * a clean exit 0 (a removed member stopping), and then exit too. SIGTERM/SIGINT: stop etcd
 * (SIGTERM, SIGKILL after 10 s) and exit. SIGHUP: restart etcd, re-reading the env file.
 * etcd runs as `runAs` (the etcd user) when given.
 * Only one supervisor runs: it holds its lock file for its whole life, and one started while
 * another holds it exits at once, before it writes anything.
 */
export function supervise(options: SuperviseOptions): void {
  mkdirSync(dirname(options.lockFile), { recursive: true, mode: 0o755 });
  tryFileLock(options.lockFile).then(
    (held) => {
      if (held) superviseHeld(options);
      else process.exit(0);
    },
    (err: Error) => {
      process.stderr.write(`tskv-supervisor: cannot take ${options.lockFile}: ${err.message}\n`);
      process.exit(1);
    },
  );
}

function superviseHeld(options: SuperviseOptions): void {
  for (const file of [options.logFile, options.pidFile, options.stateFile]) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
  }
  const logFd = openSync(options.logFile, 'a', 0o640);
  const log = (message: string) =>
    writeSync(logFd, `${new Date().toISOString()} tskv-supervisor: ${message}\n`);
  const state: SupervisorState = {
    supervisorPid: process.pid,
    supervisorStartTime: procStat(process.pid)?.startTime ?? 0,
    binary: options.binary,
    envFile: options.envFile,
    logFile: options.logFile,
    ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
    phase: 'starting',
    etcdPid: null,
    etcdStartTime: null,
    startedAtMs: null,
    spawns: 0,
    restarts: 0,
    lastExit: null,
    updatedAtMs: Date.now(),
  };
  const save = (phase: SupervisorState['phase']) => {
    state.phase = phase;
    state.updatedAtMs = Date.now();
    writeSupervisorState(options.stateFile, state);
  };

  let child: ChildProcess | null = null;
  let mode: 'run' | 'restart' | 'stop' = 'run';
  let backoffMs = BACKOFF_FIRST_MS;
  let restartTimer: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;

  const finish = (code: number) => {
    try {
      unlinkSync(options.pidFile);
    } catch {
      // already gone
    }
    save('exited'); // last: once "exited" shows, a new supervisor may start and own the files
    closeSync(logFd);
    process.exit(code);
  };

  const exited = (record: ExitRecord) => {
    clearTimeout(killTimer);
    child = null;
    const ranMs = state.startedAtMs === null ? 0 : record.atMs - state.startedAtMs;
    Object.assign(state, { etcdPid: null, etcdStartTime: null, startedAtMs: null, lastExit: record });
    log(`etcd ${record.reason}`);
    if (mode === 'stop') return finish(0);
    if (mode === 'restart') {
      mode = 'run';
      return start();
    }
    if (record.code === 0 && record.signal === null) {
      log('etcd exited cleanly: not restarting it, the supervisor exits');
      return finish(0);
    }
    if (ranMs >= HEALTHY_RUN_MS) backoffMs = BACKOFF_FIRST_MS;
    log(`restarting etcd in ${backoffMs} ms`);
    save('backoff');
    restartTimer = setTimeout(start, backoffMs);
    backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS);
  };

  function start(): void {
    restartTimer = undefined;
    if (state.spawns > 0) state.restarts++;
    state.spawns++;
    const atMs = Date.now();
    let env: Record<string, string>;
    try {
      env = parseEnvFile(readFileSync(options.envFile), (line, why) =>
        log(`${options.envFile}:${line}: ${why}`),
      );
    } catch (err) {
      const reason = `not started: cannot read ${options.envFile}: ${(err as Error).message}`;
      exited({ code: null, signal: null, atMs, reason });
      return;
    }
    let binaryTarget: string | null = null;
    try {
      binaryTarget = realpathSync(options.binary);
    } catch {
      // missing: the spawn below says so
    }
    // The log stays root's: etcd writes to the descriptor it inherits, never opens the file.
    // With uid and gid, libuv also drops every supplementary group before exec.
    const c = spawn(options.binary, [], {
      env: { PATH: SERVICE_PATH, ...env },
      cwd: '/',
      stdio: ['ignore', logFd, logFd],
      ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
    });
    child = c;
    let done = false;
    c.once('spawn', () => {
      Object.assign(state, {
        etcdPid: c.pid ?? null,
        etcdStartTime: c.pid ? (procStat(c.pid)?.startTime ?? null) : null,
        startedAtMs: atMs,
        binaryTarget,
      });
      const as = options.runAs ? ` as uid ${options.runAs.uid} gid ${options.runAs.gid}` : '';
      log(`started etcd (pid ${c.pid}) from ${options.binary} with ${options.envFile}${as}`);
      save('running');
    });
    c.once('error', (err: NodeJS.ErrnoException) => {
      if (done || c.pid !== undefined) return;
      done = true;
      exited({
        code: null,
        signal: null,
        atMs: Date.now(),
        reason: `not started: ${err.code ?? err.message}`,
      });
    });
    c.once('exit', (code, signal) => {
      if (done) return;
      done = true;
      exited({ code, signal, atMs: Date.now(), reason: describeExit(code, signal) });
    });
  }

  const stopChild = () => {
    if (!child) return;
    const c = child;
    c.kill('SIGTERM');
    killTimer = setTimeout(() => {
      log(`etcd still running ${STOP_GRACE_MS} ms after SIGTERM: SIGKILL`);
      c.kill('SIGKILL');
    }, STOP_GRACE_MS);
  };

  const onStop = (signal: string) => {
    if (mode === 'stop') return;
    log(`${signal}: stopping etcd`);
    mode = 'stop';
    clearTimeout(restartTimer);
    if (!child) return finish(0);
    save('stopping');
    stopChild();
  };
  process.on('SIGTERM', () => onStop('SIGTERM'));
  process.on('SIGINT', () => onStop('SIGINT'));
  process.on('SIGHUP', () => {
    if (mode !== 'run') return;
    log('SIGHUP: restarting etcd');
    backoffMs = BACKOFF_FIRST_MS;
    if (restartTimer) {
      clearTimeout(restartTimer);
      return start();
    }
    mode = 'restart';
    save('stopping');
    stopChild();
  });

  writeFileSync(options.pidFile, `${process.pid}\n`);
  log(`supervisor started (pid ${process.pid})`);
  start();
}

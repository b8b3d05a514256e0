/**
 * Starting one lab host: its init (host-init.sh) runs detached, in the host's network namespace
 * and fresh mount/UTS/IPC/PID namespaces, without CAP_SYS_TIME, and outlives the process that
 * started it. Ready when the init reports it (firewalld answering, sshd started).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../agent/system/proc-stat.ts';
import { TskvError } from '../controller/errors.ts';
import { type LabHostLayout, PROJECT_ROOT } from './names.ts';
import { pollUntil } from './run.ts';

// From the project root, not this file: the controller bundle (dist/controller/) includes this module.
const INIT_SCRIPT = join(PROJECT_ROOT, 'lab/host-init.sh');
/** Directories hidden inside hosts (empty tmpfs over them): the checkout and the operator's files. */
const HIDDEN = [...new Set([PROJECT_ROOT, '/work', '/home', '/mnt'])];
const READY_TIMEOUT_MS = 60_000;

export interface BootedHost {
  /** The `unshare` process that waits for the host's init (in the machine's PID namespace). */
  launcherPid: number;
  /** The host's init: PID 1 inside the host; every nsenter targets it. */
  pid: number;
}

function childOf(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

function readMarker(pid: number, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/root/run/tskv-lab/${name}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function tail(path: string): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').trim().split('\n').slice(-5).join('\n');
}

export async function bootHost(host: LabHostLayout, publicKey: string, logPath: string): Promise<BootedHost> {
  const log = openSync(logPath, 'w');
  const args = [
    `--net=/run/netns/${host.netns}`,
    'unshare',
    '--mount',
    '--uts',
    '--ipc',
    '--pid',
    '--fork',
    '--propagation',
    'private',
    'setpriv',
    '--bounding-set',
    '-sys_time',
    'env',
    '-i',
    '/bin/bash',
    INIT_SCRIPT,
    host.name,
    publicKey,
    ...HIDDEN,
  ];
  const child = spawn('nsenter', args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const launcherPid = child.pid;
  if (launcherPid === undefined)
    throw new TskvError('E_LAB_BOOT', 'cannot start nsenter', { host: host.name });
  const failure = (why: string) =>
    new TskvError('E_LAB_BOOT', `${why}${tail(logPath) ? `:\n${tail(logPath)}` : ''}`, {
      host: host.name,
      step: 'boot',
      fix: `see ${logPath}`,
    });

  const pid = await pollUntil(`${host.name}'s init process`, () => {
    if (!processAlive(launcherPid)) throw failure('the host exited while starting');
    return childOf(launcherPid);
  });
  await pollUntil(
    `${host.name} to be ready (firewalld and sshd)`,
    () => {
      const failed = readMarker(pid, 'failed');
      if (failed !== undefined) throw failure(`the host failed to start (${failed})`);
      if (!processAlive(pid)) throw failure('the host exited while starting');
      return readMarker(pid, 'ready');
    },
    { timeoutMs: READY_TIMEOUT_MS },
  );
  return { launcherPid, pid };
}

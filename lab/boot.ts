/**
 * Starting one lab host, and power-cycling it. Its init (host-init.sh) runs detached, in the
 * host's network namespace and fresh mount/UTS/IPC/PID namespaces, without CAP_SYS_TIME, and
 * outlives the process that started it. It mounts the host's root on the host's disk
 * (lab/host-root.sh). Ready when the init reports it (firewalld answering, sshd started).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../agent/system/proc-stat.ts';
import { TskvError } from '../controller/errors.ts';
import { type LabHostLayout, PROJECT_ROOT } from './names.ts';
import { pollUntil } from './run.ts';
import { netnsProcesses } from './state.ts';
import { killProcesses } from './teardown.ts';

// From the project root, not this file: the controller bundle (dist/controller/) includes this module.
const INIT_SCRIPT = join(PROJECT_ROOT, 'lab/host-init.sh');
/** Directories hidden inside hosts (empty there): the checkout and the operator's files. */
const HIDDEN = [...new Set([PROJECT_ROOT, '/work', '/home', '/mnt'])];
const READY_TIMEOUT_MS = 60_000;

export interface BootedHost {
  /** The `unshare` process that waits for the host's init (in the machine's PID namespace). */
  launcherPid: number;
  /** The host's init: PID 1 inside the host; every nsenter targets it. */
  pid: number;
}

export interface BootOptions {
  publicKey: string;
  /** A reboot: the log goes on (the first boot starts it afresh). */
  reboot?: boolean;
  /** Called as soon as the host's init runs, before it is ready (or fails to be). */
  onStarted?: (host: BootedHost) => void;
}

function childOf(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0];
    return first ? Number(first) : undefined;
  } catch {
    return undefined;
  }
}

/** A marker file of the host's init in /run/tskv-lab (read through its root). */
function readMarker(pid: number, name: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/root/run/tskv-lab/${name}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

const REBOOT_MARK = '--- reboot at ';

/** The last lines the host's init printed in its latest boot. */
function tail(path: string, lines = 5): string {
  if (!existsSync(path)) return '';
  const text = readFileSync(path, 'utf8');
  const mark = text.lastIndexOf(REBOOT_MARK);
  const boot = mark < 0 ? text : text.slice(text.indexOf('\n', mark) + 1);
  return boot.trim().split('\n').slice(-lines).join('\n');
}

export async function bootHost(host: LabHostLayout, options: BootOptions): Promise<BootedHost> {
  const log = openSync(host.logPath, options.reboot ? 'a' : 'w');
  if (options.reboot) writeSync(log, `${REBOOT_MARK}${new Date().toISOString()}\n`);
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
    options.publicKey,
    host.diskDir,
    ...HIDDEN,
  ];
  const child = spawn('nsenter', args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const launcherPid = child.pid;
  if (launcherPid === undefined)
    throw new TskvError('E_LAB_BOOT', 'cannot start nsenter', { host: host.name });
  const failure = (why: string, cause?: unknown) =>
    new TskvError('E_LAB_BOOT', `${why}${tail(host.logPath) ? `:\n${tail(host.logPath)}` : ''}`, {
      host: host.name,
      step: 'boot',
      fix: `see ${host.logPath}`,
      ...(cause === undefined ? {} : { cause }),
    });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    const pid = await pollUntil(`${host.name}'s init process`, () => {
      if (!processAlive(launcherPid)) throw failure('the host exited while starting');
      return childOf(launcherPid);
    });
    options.onStarted?.({ launcherPid, pid });
    await pollUntil(
      `${host.name} to be ready (firewalld and sshd)`,
      () => {
        const failed = readMarker(pid, 'failed');
        if (failed !== undefined) throw failure(`the host failed to start (${failed})`);
        if (!processAlive(pid)) throw failure('the host exited while starting');
        return readMarker(pid, 'ready');
      },
      { timeoutMs: deadline - Date.now() },
    );
    return { launcherPid, pid };
  } catch (err) {
    if (err instanceof TskvError && err.code === 'E_LAB_BOOT') throw err;
    throw failure(`the host did not become ready in ${READY_TIMEOUT_MS / 1000} s`, err);
  }
}

/**
 * Power-cycles off: SIGKILLs everything running in the host's network namespace, its init first
 * (the kernel then kills every process of its PID namespace, as pulling the plug: no clean
 * shutdown), until nothing runs there (its mounts are gone with its mount namespace). Its
 * network namespace, address and disk stay.
 */
export async function powerOff(host: LabHostLayout): Promise<void> {
  await killProcesses(host.name, () => netnsProcesses(host.netns));
}

/**
 * Starting one lab host, and power-cycling it. Its first process runs detached, in the host's
 * network namespace and fresh mount/UTS/IPC/PID namespaces, without CAP_SYS_TIME, and outlives the
 * process that started it. It mounts the host's root on the host's disk (lab/host-root.sh) and
 * then either starts the services itself (init 'none', lab/host-init.sh: ready when it says so) or
 * becomes systemd (init 'systemd', lab/host-systemd.sh: ready when systemd reports the system
 * running, sshd listens and firewalld answers).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../agent/system/proc-stat.ts';
import { TskvError } from '../controller/errors.ts';
import { createHostCgroup, hostCgroup, removeCgroupTree } from './cgroup.ts';
import { LabHost } from './host.ts';
import { type LabHostLayout, type LabInit, PROJECT_ROOT } from './names.ts';
import { pollUntil, run } from './run.ts';
import { netnsProcesses, runsIn } from './state.ts';
import { killProcesses } from './teardown.ts';

// From the project root, not this file: the controller bundle (dist/controller/) includes this module.
const SCRIPTS: Record<LabInit, string> = {
  none: join(PROJECT_ROOT, 'lab/host-init.sh'),
  systemd: join(PROJECT_ROOT, 'lab/host-systemd.sh'),
};
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
  lab: string;
  init: LabInit;
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

/**
 * The last lines of a systemd host's journal since `since` (ms; of `units` only, if given): through
 * the running host, or, when it is gone (its /run with it), from the persistent journal on its
 * disk. (Its boots share this machine's boot id: `since` tells them apart.)
 */
async function journalTail(host: LabHostLayout, pid: number, since: number, units: string[] = []) {
  const args = [
    '--no-pager',
    '-q',
    '-o',
    'short-precise',
    '-n',
    '15',
    `--since=@${Math.floor(since / 1000)}`,
    ...units.map((u) => `--unit=${u}`),
  ];
  const res = runsIn(pid, host.netns)
    ? await new LabHost(host.name, host.address, pid, 'systemd').exec(`journalctl ${args.join(' ')}`, {
        timeoutMs: 10_000,
      })
    : await run('journalctl', ['-D', join(host.diskDir, 'upper/var/log/journal'), ...args], {
        timeoutMs: 10_000,
      });
  return res.stdout.trim();
}

export async function bootHost(host: LabHostLayout, options: BootOptions): Promise<BootedHost> {
  const { init } = options;
  const cgroup = init === 'systemd' ? hostCgroup(options.lab, host.name) : undefined;
  if (cgroup !== undefined) await createHostCgroup(cgroup);
  const launched = Date.now();
  const log = openSync(host.logPath, options.reboot ? 'a' : 'w');
  if (options.reboot) writeSync(log, `${REBOOT_MARK}${new Date().toISOString()}\n`);
  const drop = init === 'systemd' ? '-sys_time,-sys_module' : '-sys_time';
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
    drop,
    'env',
    '-i',
    '/bin/bash',
    SCRIPTS[init],
    host.name,
    options.publicKey,
    ...(cgroup === undefined ? [] : [cgroup]),
    host.diskDir,
    ...HIDDEN,
  ];
  const child = spawn('nsenter', args, { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  child.unref();
  const launcherPid = child.pid;
  if (launcherPid === undefined)
    throw new TskvError('E_LAB_BOOT', 'cannot start nsenter', { host: host.name });
  let pid = 0;
  const failure = async (why: string, { cause, units }: { cause?: unknown; units?: string[] } = {}) => {
    const journal =
      init === 'systemd' && pid !== 0 ? await journalTail(host, pid, launched, units).catch(() => '') : '';
    const lines = [tail(host.logPath), journal ? `journal:\n${journal}` : ''].filter(Boolean).join('\n');
    return new TskvError('E_LAB_BOOT', `${why}${lines ? `:\n${lines}` : ''}`, {
      host: host.name,
      step: 'boot',
      fix: `see ${host.logPath}${init === 'systemd' ? ` and the host's journal (journalctl, or journalctl -D ${host.diskDir}/upper/var/log/journal once it is down)` : ''}`,
      ...(cause === undefined ? {} : { cause }),
    });
  };
  const exited = () => failure('the host exited while starting');

  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    pid = await pollUntil(`${host.name}'s init process`, async () => {
      if (!processAlive(launcherPid)) throw await exited();
      return childOf(launcherPid);
    });
    options.onStarted?.({ launcherPid, pid });
    const started = init === 'systemd' ? 'systemd' : 'ready';
    await pollUntil(
      init === 'systemd' ? `${host.name} to start systemd` : `${host.name} to be ready (firewalld and sshd)`,
      async () => {
        const failed = readMarker(pid, 'failed');
        if (failed !== undefined) throw await failure(`the host failed to start (${failed})`);
        if (!processAlive(pid)) throw await exited();
        // systemd's own socket: systemctl can talk to it.
        if (init === 'systemd' && !existsSync(`/proc/${pid}/root/run/systemd/private`)) return undefined;
        return readMarker(pid, started);
      },
      { timeoutMs: deadline - Date.now() },
    );
    if (init === 'systemd') await systemdReady(host, pid, deadline, failure);
  } catch (err) {
    if (err instanceof TskvError && err.code === 'E_LAB_BOOT') throw err;
    throw await failure(`the host did not become ready in ${READY_TIMEOUT_MS / 1000} s`, { cause: err });
  }
  return { launcherPid, pid };
}

const SYSTEMD_READY_SCRIPT = [
  // Returns once the boot is done: running, degraded (a unit failed), or still starting at the timeout.
  'echo "state=$(timeout 20 systemctl is-system-running --wait 2>/dev/null)"',
  'systemctl list-units --failed --no-legend --plain 2>/dev/null | while read -r unit _; do echo "failed=$unit"; done',
  "if ss -Hltn 'sport = :22' | grep -q LISTEN; then echo sshd=yes; fi",
  'echo "firewalld=$(busctl get-property org.fedoraproject.FirewallD1 /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1 state 2>/dev/null)"',
].join('\n');

/** Waits for systemd to finish booting: running, sshd listening, firewalld answering. */
async function systemdReady(
  host: LabHostLayout,
  pid: number,
  deadline: number,
  failure: (why: string, options?: { units?: string[] }) => Promise<TskvError>,
): Promise<void> {
  const lab = new LabHost(host.name, host.address, pid, 'systemd');
  await pollUntil(
    `${host.name}'s systemd to report the system running, sshd and firewalld`,
    async () => {
      if (!processAlive(pid)) throw await failure('the host exited while booting');
      const out = (await lab.exec(SYSTEMD_READY_SCRIPT, { timeoutMs: 30_000 })).stdout;
      const state = /^state=(.*)$/m.exec(out)?.[1];
      const failed = [...out.matchAll(/^failed=(.*)$/gm)].map((m) => m[1] ?? '');
      if (state === 'degraded') {
        throw await failure(
          `the host booted degraded: ${failed.join(', ') || 'no failed unit listed'} failed ` +
            '(mask or disable it in lab/host-systemd.sh if a lab host cannot run it)',
          { units: failed },
        );
      }
      const ready = state === 'running' && /^sshd=yes$/m.test(out) && /^firewalld=s "RUNNING"$/m.test(out);
      return ready ? true : undefined;
    },
    { timeoutMs: Math.max(deadline - Date.now(), 1000), intervalMs: 100 },
  );
}

/**
 * Power-cycles off: SIGKILLs everything running in the host's network namespace, its init first
 * (the kernel then kills every process of its PID namespace, as pulling the plug: no clean
 * shutdown), until nothing runs there (its mounts are gone with its mount namespace), and removes
 * its cgroup. Its network namespace, address and disk stay.
 */
export async function powerOff(host: LabHostLayout, lab: string, init: LabInit): Promise<void> {
  await killProcesses(host.name, () => netnsProcesses(host.netns));
  if (init === 'systemd') await removeCgroupTree(hostCgroup(lab, host.name));
}

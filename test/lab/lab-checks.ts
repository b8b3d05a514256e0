/**
 * Checks shared by the lab's own tests (lab.test.ts: hosts without an init system,
 * lab-systemd.test.ts: systemd hosts): the real OpenSSH client through the inventory's settings,
 * the firewall seen from a peer, what a reboot keeps, and that down leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { procStat } from '../../agent/system/proc-stat.ts';
import type { HostSpec, Inventory } from '../../controller/inventory/model.ts';
import { labCgroups } from '../../lab/cgroup.ts';
import { Lab } from '../../lab/lab.ts';
import { listNetns } from '../../lab/network.ts';
import { pollUntil, type RunResult, run } from '../../lab/run.ts';
import { labProcesses } from '../../lab/teardown.ts';

export function sshArgs(host: HostSpec, knownHosts = host.ssh.knownHosts): string[] {
  return [
    '-F',
    '/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'ConnectTimeout=10',
    '-i',
    host.ssh.identityFile ?? '',
    '-o',
    `ProxyCommand=${host.ssh.proxyCommand}`,
    '-p',
    String(host.ssh.port),
    `${host.ssh.user}@${host.address}`,
  ];
}

export type Ssh = (host: string, cmd: string, knownHosts?: string) => Promise<RunResult>;

/** Runs `cmd` on a host of `inventory` with OpenSSH (strict host keys: the lab's known_hosts). */
export function sshTo(inventory: () => Inventory): Ssh {
  return (name, cmd, knownHosts) => {
    const host = inventory().hosts.find((h) => h.name === name);
    assert.ok(host, `no host ${name} in the inventory`);
    return run('ssh', [...sshArgs(host, knownHosts), cmd], { timeoutMs: 30_000 });
  };
}

/**
 * A listener on `port` of `server` that answers 'hello' (socat), probed from any host of the lab:
 * a probe fails (refused, unreachable or timed out) where firewalld's zone rejects the port.
 */
export async function listenOn(lab: Lab, server: string, port: number) {
  const host = lab.host(server);
  await host.execOk(
    `setsid socat TCP-LISTEN:${port},fork,reuseaddr SYSTEM:'echo hello' </dev/null >/dev/null 2>&1 &`,
  );
  await host.waitFor(`socat to listen on ${port}`, `ss -Hltn 'sport = :${port}' | grep -q LISTEN`);
  const probe = `socat -T 3 - TCP:${host.address}:${port},connect-timeout=3 </dev/null`;
  return {
    probe: (from: string) => lab.host(from).exec(probe),
    /** Kills the listener; resolves to how many processes that were. */
    stop: () => host.kill(`socat TCP-LISTEN:${port}`),
  };
}

const ON_DISK = ['/etc/tskv-reboot', '/var/lib/tskv-reboot', '/usr/local/tskv-reboot', '/opt/tskv-reboot'];
const IN_MEMORY = ['/run/tskv-reboot', '/tmp/tskv-reboot'];
/** A process that would outlive the reboot if it could. */
const PROBE = 'tskv-reboot-probe';
/** Matches PROBE but not a command line that holds the pattern (pgrep's own shell). */
const PROBE_PATTERN = 'tskv-reboot-prob[e]';

/**
 * Leaves traces on `hosts` (files on disk and in memory, a running process), reboots them all at
 * once with `lab.reboot`, and checks a power cycle: the files on disk are there, those in memory
 * and the process are not, PID 1 is a new process, and each host answers OpenSSH at the same
 * address with the same host key (the lab's known_hosts, strictly) and the same machine-id.
 */
export async function assertRebootKeepsDisk(lab: Lab, hosts: string[], ssh: Ssh): Promise<void> {
  const before = await Promise.all(
    hosts.map(async (name) => {
      const host = lab.host(name);
      await host.execOk(
        `for f in ${[...ON_DISK, ...IN_MEMORY].join(' ')}; do hostname >"$f"; done; ` +
          `(setsid bash -c 'exec -a ${PROBE} sleep 1000' </dev/null >/dev/null 2>&1 &)`,
      );
      await host.waitFor('the probe process to run', `pgrep -f '${PROBE_PATTERN}' >/dev/null`);
      return { pid: host.pid, address: host.address, machineId: await host.execOk('cat /etc/machine-id') };
    }),
  );
  await lab.reboot(hosts);
  await Promise.all(
    hosts.map(async (name, i) => {
      const host = lab.host(name);
      assert.notEqual(host.pid, before[i]!.pid, `${name}: PID 1 is a new process`);
      assert.equal(host.address, before[i]!.address);
      const res = await ssh(
        name,
        `cat ${ON_DISK.join(' ')}; ls ${IN_MEMORY.join(' ')} 2>/dev/null; ` +
          `pgrep -f '${PROBE_PATTERN}'; cat /etc/machine-id`,
      );
      assert.equal(
        res.code,
        0,
        `${name}: OpenSSH with the lab's known_hosts after the reboot: ${res.stderr}`,
      );
      assert.equal(res.stdout, `${`${name}\n`.repeat(ON_DISK.length)}${before[i]!.machineId}`);
    }),
  );
}

/**
 * Takes `lab` down and checks that nothing of it is left: network namespaces, processes (reaped,
 * not even zombies), mounts, the hosts' disks and cgroups; and that down again is a no-op.
 */
export async function assertDownLeavesNothing(lab: Lab): Promise<void> {
  const { name } = lab;
  const started = lab.hosts.map((h) => ({ pid: h.pid, at: procStat(h.pid)?.startTime }));
  assert.ok(
    started.every(({ at }) => at !== undefined),
    'every host runs before down',
  );
  await lab.down();
  assert.deepEqual(
    listNetns().filter((ns) => ns.startsWith(`tskv-${name}.`)),
    [],
  );
  assert.deepEqual(labProcesses(name), []);
  // Reaped: not even a zombie is left (processAlive counts one as dead); the start time tells a reused pid.
  const unreaped = () => started.some(({ pid, at }) => procStat(pid)?.startTime === at);
  await pollUntil('the hosts to be reaped', () => (unreaped() ? undefined : true));
  // The namespaces' bind mounts (/run/netns/tskv-NAME.HOST), and anything mounted from the lab's folder.
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  assert.ok(!mounts.includes(`tskv-${name}.`));
  assert.ok(!mounts.includes(`${lab.layout.dir}/`), 'nothing of the lab folder is mounted');
  assert.ok(!existsSync(lab.layout.disksDir), "the hosts' disks are removed");
  assert.deepEqual(labCgroups(name), []);
  const ps = await run('ps', ['-eo', 'args']);
  // A launcher's command line names the lab's key (comment tskv-lab-NAME) and the hosts' disks.
  assert.ok(!ps.stdout.includes(`tskv-lab-${name}`), 'a lab process is still running');
  assert.ok(!ps.stdout.includes(`${lab.layout.disksDir}/`), "a process of a host's disk is still running");
  const again = await Lab.down(name);
  assert.deepEqual(again.namespaces, []);
  assert.throws(() => Lab.attach(name), /not up/);
}

/**
 * The agent's deploy routes on a real lab host (firewalld, no systemd, no CAP_SYS_TIME, real
 * etcd 3.4): what the unit tests cannot show, above all that etcd under the agent's supervisor
 * outlives the SSH session and the (resident) agent that started it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { cacheFileName, routes, UPLOAD_CACHE_DIR } from '../../agent/api/index.ts';
import { DbusConnection } from '../../agent/system/dbus.ts';
import { loadInventory } from '../../controller/inventory/load.ts';
import type { Inventory } from '../../controller/inventory/model.ts';
import { type HostChannel, openSession } from '../../controller/plays/session.ts';
import { Lab, type LabHost, labUnavailableReason } from '../../lab/lab.ts';
import { pollUntil } from '../../lab/run.ts';

const NAME = 'agt';
const TARBALL = 'etcd-test.tar.gz';
const ENV = `ETCD_NAME="h102"
ETCD_DATA_DIR="/var/lib/etcd/h102.etcd"
ETCD_LISTEN_CLIENT_URLS="http://127.0.0.1:2379"
ETCD_ADVERTISE_CLIENT_URLS="http://127.0.0.1:2379"
ETCD_LISTEN_PEER_URLS="http://127.0.0.1:2380"
ETCD_INITIAL_ADVERTISE_PEER_URLS="http://127.0.0.1:2380"
ETCD_INITIAL_CLUSTER="h102=http://127.0.0.1:2380"
ETCD_INITIAL_CLUSTER_STATE="new"
`;

const skip = labUnavailableReason();

describe('agent deploy routes on a lab host', { skip: skip ?? false }, () => {
  let lab: Lab;
  let host: LabHost;
  let inventory: Inventory;

  /** One SSH connection and agent for `work`, closed afterwards (the agent stays resident). */
  async function withAgent<T>(work: (ch: HostChannel) => Promise<T>): Promise<T> {
    const session = await openSession(inventory, 'silent');
    try {
      const ch = session.hosts.get('h102');
      assert.ok(ch, `h102 unreachable: ${JSON.stringify(session.unreachable)}`);
      return await work(ch);
    } finally {
      await session.close();
    }
  }

  const healthy = () =>
    pollUntil(
      'etcd /health on h102',
      async () => {
        const r = await host.exec('curl -sS --max-time 2 http://127.0.0.1:2379/health');
        return r.stdout.includes('"health":"true"') ? true : undefined;
      },
      { timeoutMs: 15_000 },
    );

  before(async () => {
    lab = await Lab.up({ name: NAME, hosts: ['h102'], fresh: true });
    host = lab.host('h102');
    inventory = await loadInventory(lab.inventoryPath);
  });
  after(() => Lab.down(NAME));

  test('firewallOpen: firewalld runtime and permanent, then no change', async () => {
    await withAgent(async (ch) => {
      const first = await ch.agent.call(routes.firewallOpen, { ports: [2379, 2380] });
      assert.deepEqual(first, {
        changed: true,
        actions: [
          'open 2379/tcp 2380/tcp in firewalld zone public (runtime)',
          'open 2379/tcp 2380/tcp in firewalld zone public (permanent)',
        ],
      });
      assert.deepEqual(await ch.agent.call(routes.firewallOpen, { ports: [2379, 2380] }), {
        changed: false,
        actions: [],
      });
    });
    assert.equal((await host.execOk('firewall-cmd --list-ports')).trim(), '2379/tcp 2380/tcp');
    assert.equal((await host.execOk('firewall-cmd --permanent --list-ports')).trim(), '2379/tcp 2380/tcp');
  });

  test("the agent's D-Bus client reads firewalld's zone settings as they are", async () => {
    // The host's own system bus, reached through its root (a unix socket needs no network).
    const bus = await DbusConnection.open(`/proc/${host.pid}/root/run/dbus/system_bus_socket`);
    try {
      const F = 'org.fedoraproject.FirewallD1';
      const [zone] = await bus.call({
        dest: F,
        path: '/org/fedoraproject/FirewallD1',
        method: `${F}.getDefaultZone`,
      });
      assert.equal(zone, 'public');
      const [settings] = await bus.call({
        dest: F,
        path: '/org/fedoraproject/FirewallD1',
        method: `${F}.zone.getZoneSettings2`,
        args: ['string:public'],
      });
      const s = settings as { target: string; services: string[]; ports: string[][] };
      assert.equal(s.target, 'default');
      assert.ok(s.services.includes('ssh'), JSON.stringify(s));
      const listed = (await host.execOk('firewall-cmd --list-ports')).trim().split(/\s+/).filter(Boolean);
      assert.deepEqual(s.ports.map(([port, proto]) => `${port}/${proto}`).sort(), listed.sort());
    } finally {
      bus.close();
    }
  });

  test('clockSync with stepToMs: the host cannot set its clock', async () => {
    await withAgent(async (ch) => {
      await assert.rejects(ch.agent.call(routes.clockSync, { stepToMs: Date.now() + 60_000 }), {
        code: 'E_AGENT_PERMISSION',
        message: 'cannot set the clock on h102: operation not permitted (no CAP_SYS_TIME)',
      });
    });
  });

  test('etcd: install, start under the supervisor, outlive the session, restart, stop', async () => {
    const tarball = await lab.etcdTarball('3.4');
    const bytes = readFileSync(tarball.path);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const cached = `${UPLOAD_CACHE_DIR}/${cacheFileName(TARBALL, sha256)}`;
    await host.execOk(`mkdir -p ${UPLOAD_CACHE_DIR} && cat > ${cached}`, { input: bytes });
    const request = { tarball: cached, sha256, version: tarball.version };
    const started = await withAgent(async (ch) => {
      const install = await ch.agent.call(routes.etcdInstall, request);
      assert.equal(install.changed, true);
      const again = await ch.agent.call(routes.etcdInstall, request);
      assert.equal(again.changed, false);
      await ch.agent.call(routes.fileWrite, { path: '/etc/etcd/etcd.env', content: ENV });
      const r = await ch.agent.call(routes.etcdService, { action: 'start' });
      assert.equal(r.manager, 'supervisor');
      assert.equal(r.running, true);
      return { ...r, agentPid: (await ch.agent.call(routes.version, {})).pid };
    });
    // The agent outlives the session; stopping it must not touch etcd or its supervisor.
    await host.execOk(`kill ${started.agentPid}`);
    await host.waitFor('the agent to exit', `! kill -0 ${started.agentPid} 2>/dev/null`);
    await healthy(); // after the session and its agent are gone
    assert.equal((await host.execOk('pgrep -x etcd')).trim(), String(started.pid));
    await withAgent(async (ch) => {
      const status = await ch.agent.call(routes.etcdService, { action: 'status' });
      assert.deepEqual(
        {
          running: status.running,
          pid: status.pid,
          startedAtMs: status.startedAtMs,
          changed: status.changed,
        },
        { running: true, pid: started.pid, startedAtMs: started.startedAtMs, changed: false },
      );
      assert.equal((await ch.agent.call(routes.etcdService, { action: 'start' })).changed, false);
      const restarted = await ch.agent.call(routes.etcdService, { action: 'restart' });
      assert.notEqual(restarted.pid, started.pid);
      assert.ok((restarted.startedAtMs ?? 0) > (started.startedAtMs ?? 0));
      await healthy();
      const logs = await ch.agent.call(routes.etcdLogs, { lines: 200 });
      assert.ok(logs.lines.some((l) => l.includes('tskv-supervisor: started etcd')));
      await assert.rejects(ch.agent.call(routes.dataDirMoveAside, { path: '/var/lib/etcd/h102.etcd' }), {
        message: /etcd \(pid \d+\) is running with it/,
      });
      const stopped = await ch.agent.call(routes.etcdService, { action: 'stop' });
      assert.deepEqual(
        { changed: stopped.changed, running: stopped.running },
        { changed: true, running: false },
      );
      const moved = await ch.agent.call(routes.dataDirMoveAside, { path: '/var/lib/etcd/h102.etcd' });
      assert.match(moved.movedTo ?? '', /^\/var\/lib\/etcd\/h102\.etcd\.removed-\d{8}T\d{6}Z$/);
    });
    assert.equal((await host.exec('pgrep -x etcd')).stdout.trim(), '');
  });
});

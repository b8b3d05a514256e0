import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { staticMemberId } from '../../controller/ops/cluster-mode.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { tskv } from './cli.ts';
import {
  assertDeployed,
  curlJson,
  deploy,
  etcdPids,
  etcdStartTicks,
  type V3Member,
} from './deploy-helpers.ts';
import { openLive, SequentialWriter } from './replace-helpers.ts';
import { ClusterMonitor } from './sweep.ts';

const NAME = 'e2e-deploy';

describe('tskv deploy on the lab (etcd 3.4)', { skip: labUnavailableReason() ?? false }, () => {
  let lab: Lab;
  before(async () => {
    // The seed's own flow: plain HTTP, as the blog post runs it (tls.test.ts and deploy-35: TLS).
    lab = await Lab.up({ name: NAME, fresh: true, inventory: { tls: { mode: 'off' } } });
  });
  after(() => Lab.down(NAME));

  test('--dry-run on bare hosts prints the plan and changes nothing', async () => {
    // What a deploy would change: the firewall (now and across reboots), etcd's config and data.
    const look =
      'firewall-cmd --list-ports; firewall-cmd --permanent --list-ports; ' +
      'ls -laR /etc/etcd /var/lib/etcd /usr/local/bin /opt/tskv 2>&1; getent passwd etcd; true'; // bare: most are missing
    const before = await Promise.all(lab.hosts.map((h) => h.execOk(look)));
    const plain = await tskv(['deploy', lab.inventoryPath, '--dry-run']);
    assert.equal(plain.code, 0, plain.stdout + plain.stderr);
    assert.match(plain.stdout, /^plan \(bootstrapping a new cluster\):/m);
    assert.match(plain.stdout, /^ {4}- install etcd 3\.4\.\d+ at \/usr\/local\/bin\/etcd$/m);
    assert.match(plain.stdout, /^ {4}- open 2379\/tcp 2380\/tcp \(firewalld zone public/m);
    assert.match(plain.stdout, /^ {8}\+ETCD_INITIAL_CLUSTER_STATE="new"$/m);
    assert.match(plain.stdout, /^12 changes on 3 hosts$/m);
    assert.match(plain.stdout, /^dry run: nothing was changed$/m);
    assert.deepEqual(await Promise.all(lab.hosts.map((h) => h.execOk(look))), before);
    for (const h of lab.hosts) {
      assert.equal(
        (await h.exec('test -e /usr/local/bin/etcd || test -e /etc/etcd/etcd.env')).code,
        1,
        h.name,
      );
      // A real run pushes the tarball while preflight runs; a dry run sends nothing.
      assert.equal((await h.exec('ls /var/lib/tskv/cache/etcd-*')).code, 2, `${h.name}: no tarball pushed`);
      // The agent it started to gather facts exits once the dry run has gone.
      await h.waitFor('the agent the dry run started to exit', "! pgrep -f 'tskv-agent-[0-9a-f]+ serve'");
    }
  });

  test("fresh deploy: healthy, member list (v3 and v2) equals the inventory, the seed's 简单测试", async () => {
    // The seed's own step on one host: ports opened at runtime only, which a reload or reboot undoes.
    await lab.host('docker').execOk('firewall-cmd --add-port=2379/tcp --add-port=2380/tcp');
    const run = await deploy(lab.inventoryPath);
    assertDeployed(run);
    for (const h of lab.hosts) {
      const saved = await h.execOk('firewall-cmd --permanent --list-ports');
      assert.match(saved, /2379\/tcp/, `${h.name}: 2379 permanent`);
      assert.match(saved, /2380\/tcp/, `${h.name}: 2380 permanent`);
    }
    assert.deepEqual(run.doc.started, ['h102', 'docker', 'h104']);
    // Every step of the plan ran, each timed.
    assert.deepEqual(
      run.doc.steps.map((s) => `${s.kind}@${s.host}`).sort(),
      lab.hosts
        .flatMap((h) => ['install', 'firewall', 'config', 'start'].map((k) => `${k}@${h.name}`))
        .sort(),
    );
    assert.ok(run.doc.steps.every((s) => s.ms >= 0));
    assert.equal(run.doc.verify!.members.filter((m) => m.leader).length, 1);
    const h102 = lab.host('h102');
    const v3 = await curlJson<{ members: V3Member[] }>(
      h102,
      "-XPOST http://127.0.0.1:2379/v3/cluster/member/list -d '{}'",
    );
    const want = lab.hosts.map((h) => ({
      name: h.name,
      peerURLs: [`http://${h.address}:2380`],
      clientURLs: [`http://${h.address}:2379`],
    }));
    const byName = (a: { name?: string }, b: { name?: string }) => (a.name ?? '').localeCompare(b.name ?? '');
    assert.deepEqual(
      v3.members.map((m) => ({ name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs })).sort(byName),
      want.sort(byName),
    );
    // Static bootstrap IDs: what deploy relies on to start a member that missed the bootstrap.
    for (const m of v3.members) assert.equal(m.ID, staticMemberId(m.peerURLs ?? [], `tskv-lab-${NAME}`));
    const v2 = await curlJson<{ members: V3Member[] }>(h102, 'http://127.0.0.1:2379/v2/members');
    assert.deepEqual(
      v2.members.map((m) => ({ name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs })).sort(byName),
      want.sort(byName),
    );
    await h102.execOk(`curl -sS -XPUT http://127.0.0.1:2379/v2/keys/message -d value="简单测试"`);
    for (const h of [lab.host('docker'), lab.host('h104')]) {
      const got = await curlJson<{ node: { value: string } }>(h, 'http://127.0.0.1:2379/v2/keys/message');
      assert.equal(got.node.value, '简单测试', h.name);
    }
  });

  test('etcd runs as the system user etcd: no supplementary groups, its data etcd:etcd 0700, its env file 0640 root:etcd', async () => {
    for (const h of lab.hosts) {
      // The lab's hosts have no etcd account (lab/host-init.sh removes the machine's): deploy made it.
      const passwd = (await h.execOk('getent passwd etcd')).trim().split(':');
      assert.equal(passwd[6], '/usr/sbin/nologin', `${h.name}: no login shell`);
      assert.ok(Number(passwd[2]) > 0 && Number(passwd[2]) < 1000, `${h.name}: a system uid (${passwd[2]})`);
      assert.equal((await h.exec('test -e /var/lib/etcd/.profile || test -e /home/etcd')).code, 1);
      assert.equal((await h.execOk('ps -o user= -p $(pgrep -x etcd)')).trim(), 'etcd', h.name);
      assert.match(await h.execOk('cat /proc/$(pgrep -x etcd)/status'), /^Groups:\s*$/m, h.name);
      assert.equal(
        (
          await h.execOk(
            `stat -c '%U:%G %a' /var/lib/etcd/${h.name}.etcd /etc/etcd/etcd.env /var/log/tskv/etcd.log`,
          )
        ).trim(),
        ['etcd:etcd 700', 'root:etcd 640', 'root:root 640'].join('\n'),
        h.name,
      );
      // Its supervisor is root's (it reads the env file, keeps the log), etcd alone is not.
      assert.equal(
        (await h.execOk("ps -o user= -p $(pgrep -f 'tskv-agent-[0-9a-f]+ supervise')")).trim(),
        'root',
      );
    }
  });

  test('a second deploy plans nothing and restarts nothing', async () => {
    const before = await etcdPids(lab);
    const run = await deploy(lab.inventoryPath);
    assertDeployed(run);
    assert.equal(run.doc.summary, 'nothing to do: 3 hosts converged');
    assert.deepEqual([run.doc.started, run.doc.restarted], [[], []]);
    assert.deepEqual(await etcdPids(lab), before);
    const plain = await tskv(['deploy', lab.inventoryPath]);
    assert.equal(plain.code, 0);
    assert.match(plain.stdout, /^nothing to do: 3 hosts converged$/m);
  });

  test('a changed flag: dry run and a refusal without --yes change nothing; then one member at a time, leader last', async () => {
    const changed = lab.writeInventory({ etcd: { flags: { 'enable-v2': true, 'snapshot-count': 50000 } } });
    const pids = await etcdPids(lab);
    const dry = await tskv(['deploy', changed, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^ {8}\+ETCD_SNAPSHOT_COUNT="50000"$/m);
    assert.match(dry.stdout, /restart etcd \(configuration changed; one member at a time/);
    const refused = await deploy(changed);
    assert.equal(refused.result.code, 1);
    assert.equal(refused.doc.error?.code, 'E_NOT_CONFIRMED');
    assert.deepEqual(await etcdPids(lab), pids, 'nothing restarted');

    const run = await deploy(changed, ['--yes']);
    assertDeployed(run);
    assert.equal(run.doc.restarted.length, 3);
    assert.ok(run.doc.plan?.leader, 'the plan names the leader it found');
    assert.equal(run.doc.restarted.at(-1), run.doc.plan.leader, 'the leader restarts last');
    const after = await etcdPids(lab);
    for (const h of lab.hosts) assert.notEqual(after[h.name], pids[h.name], `${h.name} restarted`);
    const ticks = await etcdStartTicks(lab);
    const order = run.doc.restarted.map((h) => ticks[h]!);
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
      `started in restart order: ${JSON.stringify(ticks)}`,
    );
    for (const h of lab.hosts) {
      const env = await h.execOk('cat /etc/etcd/etcd.env');
      assert.match(env, /^ETCD_SNAPSHOT_COUNT="50000"$/m, h.name);
    }
    const again = await deploy(changed);
    assertDeployed(again);
    assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
  });

  test("a changed dataDir over a stopped cluster's data is refused, nothing changed; the cluster comes back from its data", async () => {
    const live = await openLive(lab.inventoryPath);
    try {
      await live.live.cluster().put('before-stop', 'kept');
      for (const h of lab.hosts) await live.service(h.name, 'stop');
    } finally {
      await live.close();
    }
    const moved = lab.writeInventory({ etcd: { dataDir: '/srv/etcd/{name}' } }, 'moved-data-dir.yaml');
    const refused = await deploy(moved, ['--yes', '--allow-existing-data']);
    assert.equal(refused.result.code, 1);
    assert.equal(refused.doc.error?.code, 'E_DATA_DIR_CHANGED', JSON.stringify(refused.doc.error));
    assert.match(refused.doc.error!.message, /keeps its etcd data in \/var\/lib\/etcd\/\S+\.etcd/);
    for (const h of lab.hosts) {
      assert.equal((await h.exec('test -e /srv/etcd')).code, 1, `${h.name}: nothing made at the new path`);
      assert.equal((await h.exec('pgrep -x etcd')).code, 1, `${h.name}: nothing started`);
    }
    const back = await deploy(lab.inventoryPath, ['--allow-existing-data']);
    assertDeployed(back);
    const again = await openLive(lab.inventoryPath);
    try {
      assert.equal((await again.live.cluster().get('before-stop'))?.value, 'kept');
    } finally {
      await again.close();
    }
  });

  test('members an older tskv ran as root move to the etcd user one at a time, leader last, under a writer: nothing lost', async () => {
    await asOlderTskvLeftIt(lab);
    for (const h of lab.hosts)
      assert.equal((await h.execOk('ps -o user= -p $(pgrep -x etcd)')).trim(), 'root');
    const dry = await tskv(['deploy', lab.inventoryPath, '--dry-run']);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.match(dry.stdout, /running \(pid \d+, user root\)/);
    assert.equal(
      dry.stdout.match(
        /- restart etcd \(run etcd as user etcd, not root, hand \/var\/lib\/etcd\/\S+ to etcd:etcd 0700 \(was root:root 0700\); one member at a time/g,
      )?.length,
      3,
      dry.stdout,
    );
    assert.equal(
      dry.stdout.match(/- set \/etc\/etcd\/etcd\.env to 0640 root:etcd \(was 0644 root:root\)/g)?.length,
      3,
    );

    const live = await openLive(lab.inventoryPath);
    const monitor = await ClusterMonitor.watch(lab.inventoryPath, 3);
    const writer = new SequentialWriter(live.live.cluster(), 'as-etcd', 5);
    let run: Awaited<ReturnType<typeof deploy>>;
    try {
      run = await deploy(lab.inventoryPath, ['--yes']);
      assertDeployed(run);
      assert.deepEqual([...run.doc.restarted].sort(), lab.hosts.map((h) => h.name).sort());
      assert.ok(run.doc.plan?.leader, 'the plan names the leader it found');
      assert.equal(run.doc.restarted.at(-1), run.doc.plan.leader, 'the leader moves last');
    } finally {
      await writer.stop();
      await monitor.stop();
    }
    try {
      assert.ok(
        writer.acknowledged.length > 20,
        `the writer wrote throughout (${writer.acknowledged.length})`,
      );
      assert.deepEqual(await writer.lost(), [], 'no acknowledged write lost');
    } finally {
      await live.close();
    }
    assert.ok(monitor.maxDownAtOnce() <= 1, `never two members out: ${[...monitor.everDown()].join(', ')}`);
    for (const h of lab.hosts) {
      assert.equal((await h.execOk('ps -o user= -p $(pgrep -x etcd)')).trim(), 'etcd', h.name);
      assert.equal(
        (
          await h.execOk(
            `stat -c '%U:%G %a' /var/lib/etcd/${h.name}.etcd /var/lib/etcd/${h.name}.etcd/member /etc/etcd/etcd.env`,
          )
        ).trim(),
        ['etcd:etcd 700', 'etcd:etcd 700', 'root:etcd 640'].join('\n'),
        h.name,
      );
      assert.equal((await h.execOk(`find /var/lib/etcd/${h.name}.etcd ! -user etcd`)).trim(), '', h.name);
    }
    const again = await deploy(lab.inventoryPath);
    assertDeployed(again);
    assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
  });

  test('hosts that gain systemd, rebooted one at a time: deploy moves each member to an enabled etcd.service, under a writer, nothing lost', async () => {
    // A host's tunnels die with it: each move gets a writer and a monitor of its own.
    for (const h of lab.hosts) {
      const live = await openLive(lab.inventoryPath);
      const monitor = await ClusterMonitor.watch(lab.inventoryPath, 3);
      const writer = new SequentialWriter(live.live.cluster(), `to-systemd-${h.name}`, 5);
      try {
        await writer.acknowledgesMore(5);
        await lab.reboot(h.name, { init: 'systemd' });
        assert.equal(h.init, 'systemd');
        const run = await deploy(lab.inventoryPath, ['--yes']);
        assertDeployed(run);
        assert.deepEqual(run.doc.started, [h.name], 'only the rebooted member is started');
        assert.ok(
          run.doc.actions[h.name]?.some((a) => a.startsWith('install /etc/systemd/system/etcd.service')),
          JSON.stringify(run.doc.actions),
        );
        assert.equal(
          (await h.execOk('systemctl is-active etcd; systemctl is-enabled etcd')).trim(),
          'active\nenabled',
        );
        await writer.acknowledgesMore(5);
      } finally {
        await writer.stop();
        await monitor.stop();
      }
      try {
        assert.deepEqual(await writer.lost(), [], `${h.name}: no acknowledged write lost`);
      } finally {
        await live.close();
      }
      assert.ok(
        monitor.maxDownAtOnce() <= 1,
        `${h.name}: never two members out: ${[...monitor.everDown()].join(', ')}`,
      );
    }
    for (const h of lab.hosts) {
      assert.equal(
        (await h.execOk('ps -o user= -p $(systemctl show -P MainPID etcd)')).trim(),
        'etcd',
        h.name,
      );
      assert.equal((await h.execOk('pgrep -c -x etcd')).trim(), '1', `${h.name}: one etcd, the unit's`);
    }
    // The members kept their data: the keys written before the move are there.
    assert.equal(
      (await lab.host('h104').execOk('ETCDCTL_API=3 etcdctl get --print-value-only before-stop')).trim(),
      'kept',
    );
    const again = await deploy(lab.inventoryPath);
    assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
  });
});

/**
 * The cluster as tskv left it before etcd had a user of its own, member by member: etcd run as
 * root by a supervisor started without --uid/--gid (as those agents started it), its data dir and
 * the folder above it root's and 0700 (etcd as root made them), the env file 0644 root:root, and,
 * on two hosts, no etcd account at all (older tskv made none; the third keeps the one deploy made).
 */
async function asOlderTskvLeftIt(lab: Lab): Promise<void> {
  const live = await openLive(lab.inventoryPath);
  try {
    for (const h of lab.hosts) await live.service(h.name, 'stop');
  } finally {
    await live.close();
  }
  for (const [i, h] of lab.hosts.entries()) {
    // The agent's runtime (node-<sha>) runs its code (tskv-agent-<buildId>).
    const agent = (
      await h.execOk(
        "cd /var/lib/tskv/agent && ls node-* tskv-agent-* | grep -E '^(node|tskv-agent)-[0-9a-f]+$'",
      )
    )
      .trim()
      .split('\n')
      .map((f) => `/var/lib/tskv/agent/${f}`)
      .join(' ');
    await h.execOk(
      [
        'chown -R root:root /var/lib/etcd && chmod 700 /var/lib/etcd',
        'chown root:root /etc/etcd/etcd.env && chmod 644 /etc/etcd/etcd.env',
        ...(i < 2 ? ['userdel etcd', 'getent group etcd >/dev/null && groupdel etcd || true'] : []),
        `setsid -f ${agent} supervise --env /etc/etcd/etcd.env --binary /usr/local/bin/etcd` +
          ' --log /var/log/tskv/etcd.log --pidfile /run/tskv/etcd-supervisor.pid' +
          ' --state /run/tskv/etcd-supervisor.json --lock /run/tskv/etcd-supervisor.lock' +
          ' </dev/null >>/var/log/tskv/etcd.log 2>&1',
      ].join(' && '),
    );
  }
  for (const h of lab.hosts) {
    await h.waitFor(
      'etcd started the old way to be healthy',
      `curl -sf --max-time 2 http://127.0.0.1:2379/health | grep -q '"health":"true"'`,
      30_000,
    );
  }
}

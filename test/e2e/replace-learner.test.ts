/**
 * tskv status and tskv replace onto a fourth lab host through a learner: refusing with a member
 * down, replacing the leader with zero lost writes, and resuming after the run and the new member
 * were killed mid-way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StatusReport } from '../../controller/plays/status.ts';
import { waitFor } from '../../controller/wait.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { tskvJson } from './cli.ts';
import {
  assertOk,
  deployedLab,
  type Live,
  names,
  openLive,
  SequentialWriter,
  spawnTskv,
  tskv,
} from './replace-helpers.ts';
import { underWriter } from './sweep.ts';

const NAME = 'e2e-rpl';

describe('tskv replace through a learner (etcd 3.4)', { skip: labUnavailableReason() ?? false }, () => {
  let lab: Lab;
  let all: string;
  let live: Live;

  before(async () => {
    ({ lab, all } = await deployedLab(NAME, ['h102', 'docker', 'h104', 'h105']));
    live = await openLive(all);
  });
  after(async () => {
    await live?.close();
    await Lab.down(NAME);
  });

  test('status shows every member and host, and flags the host that is not a member', async () => {
    const { result, doc } = await tskvJson<StatusReport>(['status', all]);
    assert.equal(result.code, 1, 'not every inventory host is a member');
    assert.deepEqual(doc.members.map((m) => m.name).sort(), ['docker', 'h102', 'h104']);
    assert.ok(
      doc.members.every((m) => m.healthy && m.state === 'started' && /^3\.4\./.test(m.version ?? '')),
    );
    assert.equal(doc.members.filter((m) => m.leader).length, 1);
    assert.ok(
      doc.members.every((m) => (m.raftIndex ?? 0) > 0 && (m.raftTerm ?? 0) > 0 && (m.dbSize ?? 0) > 0),
    );
    assert.ok(
      doc.hosts.every((h) => h.reachable && h.clockOffsetMs !== null && Math.abs(h.clockOffsetMs) < 1000),
    );
    assert.deepEqual(
      doc.drift.map((p) => p.fix),
      [`tskv member add ${all} h105 --start`],
    );
    const text = await tskv(['status', all]);
    assert.match(text.stdout, /^ID +NAME +STATE +HEALTH +LEADER +VERSION +DB SIZE +TERM +INDEX/m);
    assert.match(text.stdout, /^h105 +\S+ +reachable +[+-]\d\.\d{3}s ±\d\.\d{3}s +\(not a member\)/m);
  });

  test('status --watch refreshes until Ctrl-C, then exits cleanly', async () => {
    const run = spawnTskv(['status', all, '--watch', '--json']);
    const refreshes = () =>
      run
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'));
    await waitFor(() => refreshes().length >= 2, {
      deadlineMs: 30_000,
      intervalMs: 100,
      describe: 'two refreshes',
    });
    run.kill('SIGINT');
    const done = await run.exited;
    assert.equal(done.code, 0, done.stderr);
    for (const line of refreshes()) {
      const doc = JSON.parse(line) as StatusReport;
      assert.deepEqual(doc.members.map((m) => m.name).sort(), ['docker', 'h102', 'h104']);
    }
  });

  test('status reaches a member whose host is not in the inventory through another host', async () => {
    const two = lab.writeInventory({ hosts: { h104: null, h105: null } }, 'without-h104.yaml');
    const { doc } = await tskvJson<StatusReport>(['status', two]);
    const h104 = doc.members.find((m) => m.name === 'h104');
    assert.equal(h104?.host, null, JSON.stringify(h104));
    assert.equal(h104?.healthy, true, JSON.stringify(h104));
    assert.deepEqual(
      doc.drift.map((p) => p.kind),
      ['member-not-in-inventory'],
    );
  });

  test('without a TTY and without --yes it refuses; --dry-run shows the plan and changes nothing', async () => {
    const dry = await tskv(['replace', all, 'h104=h105', '--dry-run']);
    assertOk(dry, 'replace --dry-run');
    // First the automatic snapshot, on a member that stays.
    assert.match(
      dry.stdout,
      /^ {2}1\. .*take a snapshot of the cluster's data into \/var\/lib\/tskv\/snapshots\//m,
    );
    assert.match(dry.stdout, /^ {2}3\. stop etcd on h105 and move \/var\/lib\/etcd\/h105\.etcd aside/m);
    // TLS (tskv's default) narrows the firewalls: h105 is let in (step 5) before it is added.
    assert.match(
      dry.stdout,
      /^ {2}5\. let h105 \([\d.]+\) in through every member's firewall on 2380\/tcp$/m,
    );
    assert.match(dry.stdout, /^ {2}11\. remove h104 \([0-9a-f]+\) from the cluster$/m);
    const asked = await tskv(['replace', all, 'h104=h105']);
    assert.equal(asked.code, 1);
    assert.match(asked.stderr, /this would remove h104 from the cluster; refusing without a TTY to ask on/);
    assert.deepEqual(names(await live.members()), ['docker', 'h102', 'h104']);
    assert.equal(await live.live.readJournal(), undefined);
  });

  test('member add --start --dry-run prints the plan and changes nothing', async () => {
    const dry = await tskv(['member', 'add', all, 'h105', '--start', '--dry-run']);
    assertOk(dry, 'member add --dry-run');
    assert.match(
      dry.stdout,
      /^ {2}4\. add h105 \(https:\/\/[\d.]+:2380\) to the cluster as a voting member$/m,
    );
    assert.match(dry.stdout, /^dry run: nothing was changed$/m);
    assert.deepEqual(names(await live.members()), ['docker', 'h102', 'h104']);
    const installed = await lab.host('h105').exec('test -e /usr/local/bin/etcd');
    assert.notEqual(installed.code, 0, 'etcd was not installed on h105');
  });

  test('refuses with another member down, before changing anything', async () => {
    await live.service('docker', 'stop');
    try {
      const r = await tskv(['replace', all, 'h104=h105', '--yes']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /replace refused, nothing was changed: not every other member is healthy: docker/,
      );
      assert.deepEqual(names(await live.members()), ['docker', 'h102', 'h104']);
      assert.equal(await live.live.readJournal(), undefined);
      assert.equal((await lab.host('h105').exec('pgrep -x etcd')).code, 1, 'etcd not started on h105');
      const remove = await tskv(['member', 'remove', all, 'h104', '--yes']);
      assert.equal(remove.code, 1, remove.stdout + remove.stderr);
      assert.match(remove.stderr, /would leave 1 healthy of 2 voters, short of a quorum of 2: docker/);
      assert.deepEqual(names(await live.members()), ['docker', 'h102', 'h104']);
    } finally {
      await live.service('docker', 'start');
      await live.waitAllHealthy();
    }
  });

  test('replaces the leader onto a fourth host through a learner, with zero lost writes', async () => {
    const view = await live.live.view();
    const h104 = view.members.find((m) => m.name === 'h104')!;
    await live.live.cluster().moveLeader(h104.id);
    await waitFor(async () => (await live.live.view()).leaderId === h104.id, {
      deadlineMs: 10_000,
      describe: 'h104 to lead',
    });
    const {
      result: r,
      ms,
      writer,
      monitor,
    } = await underWriter(live.live.cluster(3000), 'zero-lost/learner', all, () =>
      tskv(['replace', all, 'h104=h105', '--yes']),
    );
    assertOk(r, 'replace h104=h105');
    assert.match(r.stdout, /^replace h104 with h105 through a learner:/m);
    assert.match(r.stdout, /^replaced h104 with h105 in \d+\.\d s$/m);
    assert.match(r.stdout, /h104 was replaced and is no longer a member\n {2}fix: remove h104 from /);
    // The new host got the tarball from a member's cache, not over the controller's link.
    assert.match(
      r.stderr,
      /^ {2}h105: etcd-v[\d.]+-linux-amd64\.tar\.(zst|gz) from (docker|h102|h104) \(relay\)$/m,
      r.stderr,
    );
    const after = await live.live.view();
    assert.deepEqual(names(after.members), ['docker', 'h102', 'h105']);
    assert.ok(after.members.every((m) => m.started && !m.isLearner));
    assert.ok(after.probes.every((p) => p.health.healthy));
    assert.notEqual(after.leaderId, h104.id);
    assert.equal(await live.live.readJournal(), undefined);
    const h104host = lab.host('h104');
    assert.equal((await h104host.exec('pgrep -x etcd')).code, 1, 'etcd stopped on h104');
    assert.match(await h104host.execOk('ls -d /var/lib/etcd/h104.etcd.removed-*'), /removed-\d{8}T\d{6}Z/);
    const lost = await writer.lost();
    const timings = r.stderr.split('\n').filter((l) => /^\[\d+\/\d+\]|^ {2}done in/.test(l));
    process.stderr.write(`# ${timings.join('\n# ')}\n`);
    process.stderr.write(
      `# learner replacement of the leader: ${ms} ms for the command; ${writer.acknowledged.length} writes acknowledged, ${writer.failedWrites} failed requests, ${writer.failedReads} failed reads, ${lost.length} lost\n`,
    );
    // Writes acknowledged while the cluster was not whole (a learner in it, OLD leaving).
    assert.ok(
      writer.acknowledgedAt.some((t) => monitor.degradedAt(t)),
      'writes while a member was out',
    );
    assert.deepEqual(lost, []);
  });

  test('a new member that cannot start is rolled back: no learner left behind, nothing else changed', async () => {
    // Only the new member gets a fresh config, so a value etcd cannot parse breaks it alone.
    const broken = lab.writeInventory(
      { etcd: { flags: { 'heartbeat-interval': 'often' } } },
      'broken-flag.yaml',
    );
    const r = await tskv(['replace', broken, 'h105=h104', '--yes']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /stopped at "wait until h104 has started and caught up/);
    assert.match(r.stderr, /heartbeat-interval|often/);
    assert.match(
      r.stderr,
      /fix: rolled back: h104 was removed as a learner and its host was cleared; h105 is still a member/,
    );
    const members = await live.members();
    assert.deepEqual(names(members), ['docker', 'h102', 'h105']);
    assert.ok(members.every((m) => !m.isLearner && m.started));
    assert.equal(await live.live.readJournal(), undefined);
    assert.equal((await lab.host('h104').exec('pgrep -x etcd')).code, 1, 'etcd stopped on h104');
  });

  test('killing the new member and the run mid-replacement, re-running finishes it', async () => {
    const h104 = lab.host('h104');
    const run = spawnTskv(['replace', all, 'h105=h104', '--yes']);
    const learner = await waitFor(async () => (await live.members()).find((m) => m.isLearner), {
      deadlineMs: 60_000,
      intervalMs: 50,
      describe: 'h104 to join as a learner',
    });
    run.kill();
    await h104.kill('tskv-agent.* supervise');
    await h104.kill('/usr/local/bin/etcd');
    const killed = await run.exited;
    assert.notEqual(killed.code, 0, 'the first run was killed mid-way');
    // tskv's default for the cluster deployedLab bootstraps: TLS.
    assert.ok(learner.peerURLs.includes(`https://${h104.address}:2380`));
    const journal = await live.live.readJournal();
    assert.equal(journal?.new, 'h104');
    // One membership change at a time: the interrupted replacement holds the cluster.
    const other = await tskv(['member', 'remove', all, 'docker', '--yes']);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /member remove refused, nothing was changed: a replacement is in progress/);

    const again = await tskv(['replace', all, 'h105=h104', '--yes']);
    assertOk(again, 're-run of replace h105=h104');
    assert.match(again.stdout, /resuming an interrupted run/);
    const members = await live.members();
    assert.deepEqual(names(members), ['docker', 'h102', 'h104']);
    assert.ok(members.every((m) => m.started && !m.isLearner));
    assert.equal(await live.live.readJournal(), undefined);
    const status = await tskvJson<StatusReport>(['status', all]);
    assert.ok(status.doc.members.every((m) => m.healthy));
    assert.equal(status.doc.replacing, null);
  });

  test('replaces the leader when the inventory no longer names its host, with zero lost writes', async () => {
    // The operator's way: docker's line replaced by h105 first, as `replace --help` allows.
    const withoutDocker = lab.writeInventory({ hosts: { docker: null } }, 'without-docker.yaml');
    const docker = (await live.members()).find((m) => m.name === 'docker')!;
    await live.live.cluster().moveLeader(docker.id);
    await waitFor(async () => (await live.live.view()).leaderId === docker.id, {
      deadlineMs: 10_000,
      describe: 'docker to lead',
    });
    const writer = new SequentialWriter(live.live.cluster(3000), 'zero-lost/leader-gone');
    let r: Awaited<ReturnType<typeof tskv>>;
    try {
      r = await tskv(['replace', withoutDocker, 'docker=h105', '--yes']);
    } finally {
      await writer.stop();
    }
    assertOk(r, 'replace docker=h105 with docker leading');
    assert.match(r.stderr, /leadership moved from docker to /);
    const after = await live.live.view();
    assert.deepEqual(names(after.members), ['h102', 'h104', 'h105']);
    assert.ok(after.probes.every((p) => p.health.healthy && p.member.started && !p.member.isLearner));
    assert.notEqual(after.leaderId, docker.id);
    assert.equal(await live.live.readJournal(), undefined);
    assert.ok(writer.acknowledged.length > 0);
    assert.deepEqual(await writer.lost(), []);
  });
});

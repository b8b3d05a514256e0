import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EtcdClient } from '../../../../controller/etcd/client.ts';
import { EtcdCluster } from '../../../../controller/etcd/cluster.ts';
import { EtcdError } from '../../../../controller/etcd/errors.ts';
import { formatInitialCluster, formatMemberList } from '../../../../controller/etcd/format.ts';
import { retryWhile, waitFor } from '../../../../controller/wait.ts';
import { v2Members } from './etcd-v2.ts';
import { type EtcdBinaries, findEtcd, LocalEtcd } from './local-etcd.ts';

const found = findEtcd();
const skip = 'skip' in found ? found.skip : false;
const bin = found as EtcdBinaries; // only used when not skipped
const NAMES = ['a', 'b', 'c'];

describe(`etcd API against a real 3-member cluster (${bin.version ?? 'none'})`, { skip }, () => {
  let local: LocalEtcd;
  let cluster: EtcdCluster;

  before(async () => {
    local = await LocalEtcd.cluster(bin, NAMES);
    cluster = new EtcdCluster(
      NAMES.map((n) => local.endpoint(n)),
      { timeoutMs: 10_000 },
    );
  });
  after(async () => {
    await local?.cleanup();
  });

  const leaderId = async () => (await cluster.findLeader())?.status.memberId;

  test('every member agrees on one leader', async () => {
    const id = await waitFor(leaderId, { deadlineMs: 30_000, describe: 'a leader' });
    const statuses = await cluster.statusAll();
    assert.equal(statuses.length, 3);
    const ok = statuses.map((s) => (s.ok ? s.value : assert.fail(String(s.error))));
    assert.equal(ok.filter((s) => s.isLeader).length, 1);
    assert.ok(ok.every((s) => s.leaderId === id && s.version === bin.version));
    assert.equal(new Set(ok.map((s) => s.clusterId)).size, 1);
  });

  test('a key written through one member reads back through every other', async () => {
    await cluster.client('a')!.put('message', 'set by a');
    for (const n of ['b', 'c']) assert.equal((await cluster.client(n)!.get('message'))?.value, 'set by a');
  });

  test('member list equals `etcdctl member list`; v2 is off without --enable-v2', async (t) => {
    const list = await cluster.memberList();
    assert.deepEqual(list.members.map((m) => m.name).sort(), NAMES);
    assert.ok(list.members.every((m) => m.started && !m.isLearner && m.clientURLs.length === 1));
    await assert.rejects(
      v2Members(cluster.client('a')!),
      (e: unknown) => e instanceof EtcdError && e.httpStatus === 404,
    );
    if (!bin.etcdctl) return t.skip('no etcdctl');
    const urls = NAMES.map((n) => local.member(n).clientUrl);
    assert.equal(`${formatMemberList(list.members)}\n`, local.etcdctl(['member', 'list'], urls));
  });

  test('learner: add, start with existing, catch up, promote, then remove', async () => {
    const d = await local.define('d');
    // Right after startup etcd refuses changes as "unhealthy cluster" until every voter has been
    // connected for 5 s (--strict-reconfig-check): that refusal is temporary.
    const added = await retryWhile(
      () => cluster.memberAdd([d.peerUrl], true),
      (e) => e instanceof EtcdError && e.isUnhealthyCluster(),
      { deadlineMs: 45_000, intervalMs: 250, describe: 'etcd to accept the learner' },
    );
    assert.equal(added.member.isLearner, true);
    await local.start(
      'd',
      formatInitialCluster(added.members, { id: added.member.id, name: 'd' }),
      'existing',
    );
    await local.waitHealthy('d');
    const learner = new EtcdClient(local.endpoint('d'), { timeoutMs: 30_000 });
    const status = await learner.status();
    assert.equal(status.isLearner, true);
    assert.equal(status.memberId, added.member.id);
    // A learner refuses writes and member changes: the cluster moves on to a voter.
    await assert.rejects(
      learner.put('k', 'v'),
      (e: unknown) => e instanceof EtcdError && e.isLearnerRpcRefused(),
    );
    const withLearnerFirst = new EtcdCluster(
      ['d', ...NAMES].map((n) => local.endpoint(n)),
      { timeoutMs: 30_000 },
    );
    await withLearnerFirst.put('via-failover', 'yes');
    assert.equal((await withLearnerFirst.memberList()).members.length, 4);
    // A learner serves serializable reads once it has caught up.
    await waitFor(async () => (await learner.get('via-failover', { serializable: true }))?.value === 'yes', {
      deadlineMs: 30_000,
      describe: 'the learner to replicate the key',
    });
    // Started (named) before promotion; promotion retried while etcd says it is not in sync.
    await waitFor(
      async () => (await cluster.memberList()).members.find((m) => m.id === added.member.id)?.started,
      {
        deadlineMs: 30_000,
        describe: 'the learner to publish its name',
      },
    );
    await retryWhile(
      () => withLearnerFirst.memberPromote(added.member.id),
      (e) => e instanceof EtcdError && e.isLearnerNotReady(),
      { deadlineMs: 30_000, describe: 'the learner to be promoted' },
    );
    // A member answers the member list from its own store: the one asked may apply the promotion later.
    await waitFor(
      async () =>
        (await cluster.memberList()).members.find((m) => m.id === added.member.id)?.isLearner === false,
      { deadlineMs: 10_000, describe: 'the member list to show the learner promoted' },
    );
    await assert.rejects(
      cluster.memberPromote(added.member.id),
      (e: unknown) => e instanceof EtcdError && e.isMemberNotLearner(),
    );
    const remaining = await cluster.memberRemove(added.member.id);
    assert.equal(remaining.length, 3);
    // The removed member notices and exits by itself.
    const code = await d.exited;
    assert.equal(code, 0);
    assert.ok(d.log.some((l) => l.includes('permanently removed')));
  });

  test('leadership moves to the member asked for', async () => {
    const leader = await cluster.findLeader();
    assert.ok(leader);
    const target = (await cluster.memberList()).members.find((m) => m.id !== leader.status.memberId)!;
    await cluster.moveLeader(target.id);
    await waitFor(async () => (await leaderId()) === target.id, {
      deadlineMs: 30_000,
      describe: 'the new leader',
    });
  });

  test('with a voter down: reads fail over, a voter add is refused as unhealthy', async () => {
    await local.stop('c');
    const cFirst = new EtcdCluster(
      ['c', 'a', 'b'].map((n) => local.endpoint(n)),
      { timeoutMs: 10_000 },
    );
    assert.equal((await cFirst.memberList()).members.length, 3);
    const statuses = await cFirst.statusAll();
    const down = statuses.find((s) => s.endpoint === 'c');
    assert.ok(down && !down.ok && down.error.isNotSent());
    await assert.rejects(cFirst.memberAdd(['http://127.0.0.1:4'], false), (err: unknown) => {
      assert.ok(err instanceof EtcdError && err.isUnhealthyCluster(), String(err));
      return true;
    });
    assert.equal((await cFirst.memberList()).members.length, 3);
    await local.start('c', local.initialCluster(NAMES), 'new');
    await local.waitHealthy('c');
  });
});

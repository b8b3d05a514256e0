import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Client } from 'undici';
import { TskvError } from '../../../../controller/errors.ts';
import { EtcdClient } from '../../../../controller/etcd/client.ts';
import { EtcdCluster } from '../../../../controller/etcd/cluster.ts';
import { EtcdError } from '../../../../controller/etcd/errors.ts';
import {
  formatMemberAddEnv,
  formatMemberAdded,
  formatMemberList,
} from '../../../../controller/etcd/format.ts';
import { idToHex } from '../../../../controller/etcd/ids.ts';
import { gatewayErrorSchema } from '../../../../controller/etcd/schemas.ts';
import { withFreePorts } from '../../../fixtures/free-port.ts';
import { v2Get, v2Members, v2Put } from './etcd-v2.ts';
import { type EtcdBinaries, findEtcd, LocalEtcd } from './local-etcd.ts';

const found = findEtcd();
const skip = 'skip' in found ? found.skip : false;
const bin = found as EtcdBinaries; // only used when not skipped

describe(`etcd API against one real member (${bin.version ?? 'none'})`, { skip }, () => {
  let local: LocalEtcd;
  let client: EtcdClient;

  before(async () => {
    local = await LocalEtcd.cluster(bin, ['solo'], ['--enable-v2']);
    // Generous: on a loaded machine (CI runs these beside the lab tests) a membership change's
    // fsync can take seconds; these tests are about answers, not speed.
    client = new EtcdClient(local.endpoint('solo'), { timeoutMs: 30_000 });
  });
  after(async () => {
    await local?.cleanup();
  });

  test('status: version, leader is itself, sizes and raft indexes', async () => {
    const s = await client.status();
    assert.equal(s.version, bin.version);
    assert.equal(s.isLeader, true);
    assert.equal(s.leaderId, s.memberId);
    assert.equal(s.isLearner, false);
    assert.ok(s.dbSize > 0 && s.raftIndex > 0 && s.raftTerm > 0 && s.raftAppliedIndex > 0);
    assert.match(s.clusterId, /^[0-9]+$/);
    assert.deepEqual(await client.version(), {
      server: bin.version,
      cluster: s.version.replace(/\.\d+$/, '.0'),
    });
    assert.equal((await client.health()).healthy, true);
  });

  test('put, get, delete (UTF-8 keys and values)', async () => {
    const rev = await client.put('/tskv/message', 'set by h104 ✓');
    const kv = await client.get('/tskv/message');
    assert.equal(kv?.value, 'set by h104 ✓');
    assert.equal(kv?.modRevision, rev);
    assert.equal((await client.get('/tskv/message', { serializable: true }))?.value, 'set by h104 ✓');
    assert.equal(await client.deleteKey('/tskv/message'), 1);
    assert.equal(await client.get('/tskv/message'), undefined);
    assert.equal(await client.deleteKey('/tskv/message'), 0);
  });

  test('swapIf: create only if absent, replace only if unchanged, delete only if unchanged', async () => {
    const key = 'swap/lock';
    assert.equal(await client.swapIf(key, undefined, 'a'), true);
    assert.equal(await client.swapIf(key, undefined, 'b'), false, 'exists already');
    assert.equal(await client.swapIf(key, 'x', 'b'), false, 'holds something else');
    assert.equal(await client.swapIf(key, 'a', 'b'), true);
    assert.equal((await client.get(key))?.value, 'b');
    assert.equal(await client.swapIf(key, 'a', undefined), false);
    assert.equal(await client.swapIf(key, 'b', undefined), true);
    assert.equal(await client.get(key), undefined);
  });

  test('member list matches `etcdctl member list`', async (t) => {
    const list = await client.memberList();
    assert.equal(list.members.length, 1);
    const [m] = list.members;
    assert.equal(m?.name, 'solo');
    assert.equal(m?.started, true);
    assert.equal(m?.idHex, idToHex(list.memberId));
    if (!bin.etcdctl) return t.skip('no etcdctl');
    assert.equal(
      `${formatMemberList(list.members)}\n`,
      local.etcdctl(['member', 'list'], [local.member('solo').clientUrl]),
    );
  });

  test('learner add/remove, one learner at a time, unknown member: 404 NotFound', async () => {
    const added = await client.memberAdd(['http://127.0.0.1:1'], true);
    assert.equal(added.member.isLearner, true);
    assert.equal(added.member.started, false);
    assert.equal(added.members.length, 2);
    await assert.rejects(client.memberAdd(['http://127.0.0.1:2'], true), (err: unknown) => {
      assert.ok(err instanceof EtcdError && err.isTooManyLearners(), String(err));
      assert.equal(err.grpcCode, 9);
      return true;
    });
    await assert.rejects(
      client.memberAdd(['http://127.0.0.1:1'], true),
      // "Peer URLs already exists", or within the same second (the ID is derived from the URLs
      // and the time) "member ID already exist".
      (e: unknown) => e instanceof EtcdError && (e.isPeerUrlExists() || e.isMemberExists()),
    );
    const after = await client.memberRemove(added.member.id);
    assert.equal(after.length, 1);
    await assert.rejects(client.memberRemove(added.member.id), (err: unknown) => {
      assert.ok(err instanceof EtcdError && err.isMemberNotFound(), String(err));
      assert.equal(err.httpStatus, 404);
      assert.equal(err.grpcCode, 5);
      return true;
    });
  });

  test('`etcdctl member add --learner` output equals formatMemberAdded + formatMemberAddEnv', async (t) => {
    if (!bin.etcdctl) return t.skip('no etcdctl');
    const url = local.member('solo').clientUrl;
    const ctlVersion = /etcdctl version: (\S+)/.exec(local.etcdctl(['version'], [url]))?.[1] ?? '';
    const peer = 'http://127.0.0.1:3';
    const out = local.etcdctl(['member', 'add', 'newbie', `--peer-urls=${peer}`, '--learner'], [url]);
    const list = await client.memberList();
    const added = list.members.find((m) => m.peerURLs.includes(peer));
    assert.ok(added);
    try {
      const expected = [
        formatMemberAdded(added.id, list.clusterId, true, { learnerWording: !/^3\.[45]\./.test(ctlVersion) }),
        formatMemberAddEnv('newbie', list.members, [peer], added.id),
      ].join('\n');
      assert.equal(`${expected}\n`, out);
      assert.equal(`${formatMemberList(list.members)}\n`, local.etcdctl(['member', 'list'], [url]));
    } finally {
      await client.memberRemove(added.id);
    }
  });

  test('errors: bad request 400 InvalidArgument, unknown path 404, nothing listening = unreachable', async () => {
    await assert.rejects(client.v3('get', 'kv/range', { key: 1 }, gatewayErrorSchema), (err: unknown) => {
      assert.ok(err instanceof EtcdError);
      assert.equal(err.httpStatus, 400);
      assert.equal(err.grpcCode, 3);
      assert.equal(err.isUnavailable(), false);
      return true;
    });
    await assert.rejects(client.v3('nothing', 'no/such/thing', {}, gatewayErrorSchema), (err: unknown) => {
      assert.ok(err instanceof EtcdError);
      assert.equal(err.httpStatus, 404);
      return true;
    });
    await withFreePorts(1, async (port) => {
      const nobody = new EtcdClient({ name: 'nobody', url: `http://127.0.0.1:${port}` }, { timeoutMs: 2000 });
      await assert.rejects(nobody.status(), (err: unknown) => {
        assert.ok(err instanceof EtcdError);
        assert.equal(err.kind, 'unreachable');
        assert.equal(err.isNotSent(), true);
        assert.equal(err.host, 'nobody');
        return true;
      });
    });
  });

  test("v2 API with --enable-v2: the seed's /v2/members and /v2/keys", async () => {
    const v3 = await client.memberList();
    const v2 = await v2Members(client);
    assert.deepEqual(v2, v3.members);
    const put = await v2Put(client, 'message', 'set by h104');
    assert.equal(put.key, '/message');
    assert.equal((await v2Get(client, 'message'))?.value, 'set by h104');
    assert.equal(await v2Get(client, 'nope'), undefined);
  });

  test('a tunnel whose channel cannot open (a removed member) is passed over, even for a non-idempotent txn', async () => {
    // What the SSH transport answers when nothing listens at the far end of a direct-tcpip channel.
    const refused = new Client('http://127.0.0.1:2379', {
      connect: (_options, callback) =>
        callback(new TskvError('E_SSH_CHANNEL', 'cannot open an SSH channel: Connection refused'), null),
    });
    try {
      const cluster = new EtcdCluster([
        { name: 'removed', url: 'http://127.0.0.1:2379', dispatcher: refused },
        { name: 'solo', url: local.member('solo').clientUrl },
      ]);
      assert.equal(await cluster.swapIf('swap/failover', undefined, 'x'), true);
      assert.equal(await cluster.swapIf('swap/failover', 'x', undefined), true);
    } finally {
      await refused.close();
    }
  });

  test('a caller-supplied dispatcher (as an SSH tunnel would be) carries every call', async () => {
    const port = Number(new URL(local.member('solo').clientUrl).port);
    let connects = 0;
    // The URL is what the host would see; the socket goes wherever the dispatcher says.
    const tunnel = new Client('http://127.0.0.1:2379', {
      connect: (_options, callback) => {
        connects++;
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => callback(null, socket));
        socket.once('error', (err) => callback(err, null));
      },
    });
    try {
      const tunnelled = new EtcdClient({ name: 'h104', url: 'http://127.0.0.1:2379', dispatcher: tunnel });
      assert.equal((await tunnelled.status()).isLeader, true);
      assert.equal((await tunnelled.health()).healthy, true);
      assert.ok(connects >= 1);
    } finally {
      await tunnel.close();
    }
  });
});

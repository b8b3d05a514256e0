/**
 * Which refusals of a membership change move on to the next endpoint (controller/etcd/cluster.ts),
 * against small HTTP servers that answer as etcd's gateway does. Each member judges etcd's strict
 * reconfiguration check from its own peer connections, so "unhealthy cluster" from one member
 * says nothing of the next; other refusals are the cluster's answer and stop the call.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { EtcdCluster } from '../../../../controller/etcd/cluster.ts';
import { EtcdError } from '../../../../controller/etcd/errors.ts';

type Answer = { status: number; body: unknown };

const refusal = (message: string, code: number): Answer => ({
  status: code === 14 ? 503 : 400,
  body: { error: message, code, message },
});

const ADDED: Answer = {
  status: 200,
  body: {
    header: { cluster_id: '1', member_id: '2' },
    member: { ID: '77', peerURLs: ['https://198.18.0.9:2380'], isLearner: true },
    members: [{ ID: '77', peerURLs: ['https://198.18.0.9:2380'], isLearner: true }],
  },
};

/** A cluster of the fake members, named by their keys, asked in that order. */
const clusterOf = (members: Record<string, { url: string }>) =>
  new EtcdCluster(Object.entries(members).map(([name, m]) => ({ name, url: m.url })));

describe('membership changes across endpoints', () => {
  const servers: Server[] = [];
  after(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

  /** A fake member answering every POST with `answer`; `asked` counts the member adds it got. */
  async function member(answer: Answer): Promise<{ url: string; asked: () => number }> {
    let adds = 0;
    const server = createServer((req, res) => {
      if (req.url === '/v3/cluster/member/add') adds++;
      req.resume();
      req.on('end', () => {
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(answer.body));
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked: () => adds };
  }

  test('"unhealthy cluster" from one member: the next member is asked, and its add counts', async () => {
    const a = await member(refusal('etcdserver: unhealthy cluster', 14));
    const b = await member(ADDED);
    const cluster = clusterOf({ a, b });
    const added = await cluster.memberAdd(['https://198.18.0.9:2380'], true);
    assert.equal(added.member.isLearner, true);
    assert.deepEqual([a.asked(), b.asked()], [1, 1]);
  });

  test('"unhealthy cluster" from every member: the error says so, naming each', async () => {
    const a = await member(refusal('etcdserver: unhealthy cluster', 14));
    const b = await member(refusal('etcdserver: unhealthy cluster', 14));
    const cluster = clusterOf({ a, b });
    await assert.rejects(cluster.memberAdd(['https://198.18.0.9:2380'], true), (err: unknown) => {
      assert.ok(err instanceof EtcdError && err.isUnhealthyCluster(), String(err));
      assert.match(err.etcdMessage, /a: etcdserver: unhealthy cluster; b: etcdserver: unhealthy cluster/);
      return true;
    });
  });

  test("a refusal that is the cluster's answer (peer URL exists) is not asked again elsewhere", async () => {
    const a = await member(refusal('etcdserver: Peer URLs already exists', 9));
    const b = await member(ADDED);
    const cluster = clusterOf({ a, b });
    await assert.rejects(cluster.memberAdd(['https://198.18.0.9:2380'], true), (err: unknown) => {
      assert.ok(err instanceof EtcdError && err.isPeerUrlExists(), String(err));
      return true;
    });
    assert.deepEqual([a.asked(), b.asked()], [1, 0]);
  });
});

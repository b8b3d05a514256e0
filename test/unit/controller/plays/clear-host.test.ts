import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { LiveCluster } from '../../../../controller/plays/live-cluster.ts';
import { startedMemberAt } from '../../../../controller/plays/replace-steps.ts';
import { ADDRESSES, inventory } from '../ops/membership-fixtures.ts';

const member = (id: string, name: string, host: string) => ({
  ID: id,
  name,
  peerURLs: [`http://${ADDRESSES[host]}:2380`],
  clientURLs: [`http://${ADDRESSES[host]}:2379`],
});
const NEW_H102 = member('14834570163522812636', 'new-h102', 'h102');
const DOCKER = member('10668549826131550271', 'docker', 'docker');
const H104 = member('1983431151102145720', 'h104', 'h104');

/** An etcd JSON gateway that answers the member list with `members()`. */
function fakeEtcd(members: () => object[]): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(JSON.stringify({ header: {}, members: members() })));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('clearing a host after its member was removed', () => {
  const views: Record<string, object[]> = {};
  const servers = new Map<string, Server>();
  let live: LiveCluster;
  before(async () => {
    for (const h of ['h102', 'docker', 'h104']) servers.set(h, await fakeEtcd(() => views[h]!));
    const url = (h: string) => `http://127.0.0.1:${(servers.get(h)!.address() as AddressInfo).port}`;
    live = {
      session: {
        hosts: new Map([...servers.keys()].map((h) => [h, {}])),
        inventory: inventory(['h102', 'docker', 'h104']),
      },
      endpoint: (h: string) => ({ name: h, url: url(h) }),
      memberList: () => Promise.reject(new Error('not used: the host being cleared is not asked')),
      memberOnHost: LiveCluster.prototype.memberOnHost,
    } as unknown as LiveCluster;
  });
  after(() => {
    for (const s of servers.values()) s.close();
  });

  test("the removed member's own stale view is not asked: the others say it is gone", async () => {
    views['h102'] = [NEW_H102, DOCKER, H104]; // removed a moment ago, and does not know yet
    views['docker'] = [DOCKER, H104];
    views['h104'] = [DOCKER, H104];
    assert.equal(await startedMemberAt(live, 'h102', 1000), undefined);
  });

  test('one witness that lags (or strays) is not enough: every answering member must see it gone', async () => {
    views['docker'] = [DOCKER, H104]; // behind, or a stray member of an earlier attempt
    views['h104'] = [NEW_H102, DOCKER, H104];
    assert.equal((await startedMemberAt(live, 'h102', 300))?.name, 'new-h102');
  });

  test('a member the others still see started there is reported (and the host left alone)', async () => {
    views['docker'] = [NEW_H102, DOCKER, H104];
    views['h104'] = [NEW_H102, DOCKER, H104];
    assert.equal((await startedMemberAt(live, 'h102', 300))?.name, 'new-h102');
  });
});

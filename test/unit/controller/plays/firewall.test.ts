import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EtcdMember } from '../../../../controller/etcd/index.ts';
import { clusterExposure, memberSources } from '../../../../controller/plays/firewall.ts';
import { seedInventory } from '../ops/deploy-fixtures.ts';

const member = (name: string, peerURL: string) => ({ name, peerURLs: [peerURL] }) as unknown as EtcdMember;

test("the members' addresses: the inventory's hosts, and live members (the one leaving too), once each", async () => {
  const inv = await seedInventory();
  const live = [member('h102', 'http://192.168.100.102:2380'), member('old', 'https://[fd00::7]:2380')];
  assert.deepEqual(await memberSources(inv, live), [
    ...inv.hosts.map((h) => `${h.address}/32`),
    'fd00::7/128',
  ]);
  assert.equal(inv.hosts.length, 3);
});

test('with TLS off nothing is resolved: a name that would not resolve does no harm', async () => {
  const inv = await seedInventory((i) => {
    i.hosts[0]!.address = 'no-such-host.invalid';
  });
  assert.deepEqual(await clusterExposure(inv), { open: [2379, 2380], restricted: [] });
});

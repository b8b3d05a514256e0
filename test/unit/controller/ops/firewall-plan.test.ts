import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FirewallPortState, FirewallStateResponse } from '../../../../agent/api/index.ts';
import { planFirewall, portsToOpen, wantedExposure } from '../../../../controller/ops/firewall-plan.ts';
import { seedInventory } from './deploy-fixtures.ts';

const fw = (ports: FirewallStateResponse['ports']): FirewallStateResponse => ({
  backend: 'firewalld',
  state: 'running',
  zone: 'public',
  ports,
});

const MEMBERS = ['192.168.100.102/32', '192.168.100.103/32', '192.168.100.104/32'];

test('closed ports, and ports open only until the next reload, are to be opened', () => {
  const state = fw([
    { port: 2379, protocol: 'tcp', open: true, permanent: true, detail: '' },
    { port: 2380, protocol: 'tcp', open: true, permanent: false, detail: '' },
  ]);
  assert.deepEqual(portsToOpen(state, [2379, 2380]), [2380]);
  assert.deepEqual(
    portsToOpen(fw([{ port: 2379, protocol: 'tcp', open: false, detail: '' }]), [2379]),
    [2379],
  );
});

test('open everywhere, or no firewall: nothing to open', () => {
  const state = fw([
    { port: 2379, protocol: 'tcp', open: true, permanent: true, detail: '' },
    { port: 2380, protocol: 'tcp', open: true, detail: '' },
  ]);
  assert.deepEqual(portsToOpen(state, [2379, 2380]), []);
  assert.deepEqual(portsToOpen({ backend: 'none', state: 'none', ports: [] }, [2379]), []);
});

test('who is let in: TLS off the whole zone; TLS on the peer port from the members, the client port from clientSources and the members', async () => {
  const off = await seedInventory();
  assert.deepEqual(wantedExposure(off, MEMBERS), { open: [2379, 2380], restricted: [] });
  const on = await seedInventory((inv) => {
    inv.tls.mode = 'auto';
  });
  assert.deepEqual(wantedExposure(on, [...MEMBERS, MEMBERS[0]!]), {
    open: [2379],
    restricted: [{ port: 2380, sources: MEMBERS }],
  });
  on.cluster.clientSources = ['10.0.0.0/8', 'fd00::/64'];
  assert.deepEqual(wantedExposure(on, MEMBERS).restricted, [
    { port: 2379, sources: ['10.0.0.0/8', 'fd00::/64', ...MEMBERS] },
    { port: 2380, sources: MEMBERS },
  ]);
});

test('a restricted port: planned while it differs from exactly its sources, said in the title; nothing when it matches', () => {
  const exposure = { open: [2379], restricted: [{ port: 2380, sources: MEMBERS }] };
  const peer = (over: Partial<FirewallPortState['sources']>): FirewallPortState => ({
    port: 2380,
    protocol: 'tcp',
    open: true,
    permanent: true,
    detail: '',
    sources: { missing: [], openToAll: false, stale: [], ...over },
  });
  const client: FirewallPortState = { port: 2379, protocol: 'tcp', open: true, permanent: true, detail: '' };
  const older = planFirewall(
    fw([client, peer({ missing: MEMBERS, openToAll: true, stale: ['192.168.100.105/32'] })]),
    exposure,
  );
  assert.deepEqual(older?.request, { ports: [], restricted: exposure.restricted });
  assert.equal(
    older?.title,
    'let 2380/tcp in only from 192.168.100.102/32, 192.168.100.103/32, 192.168.100.104/32 (closed to everyone else; no longer from 192.168.100.105/32) (firewalld zone public, now and across reboots)',
  );
  assert.equal(planFirewall(fw([client, peer({})]), exposure), undefined);
  // An opening tskv leaves alone (a service) is preflight's warning, not a step every deploy repeats.
  assert.equal(
    planFirewall(fw([client, peer({ wider: 'service etcd-server in zone public' })]), exposure),
    undefined,
  );
});

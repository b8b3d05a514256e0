import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FirewallStateResponse } from '../../../../agent/api/index.ts';
import { portsToOpen } from '../../../../controller/ops/firewall-plan.ts';

const fw = (ports: FirewallStateResponse['ports']): FirewallStateResponse => ({
  backend: 'firewalld',
  state: 'running',
  zone: 'public',
  ports,
});

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

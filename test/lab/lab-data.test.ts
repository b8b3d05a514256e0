/** The lab's pure parts (names, addresses, inventory variants): no root needed. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseInventory } from '../../controller/inventory/load.ts';
import { inventoryText, type LabInventoryDoc, mergeOverrides, toYaml } from '../../lab/inventory-file.ts';
import {
  labLayout,
  labPrefix,
  validateHostNames,
  validateLabInit,
  validateLabName,
} from '../../lab/names.ts';

test('lab names and addresses derive from the lab name, in 198.18.0.0/15', () => {
  const a = labLayout('default', ['h102', 'docker', 'h104']);
  assert.equal(labPrefix('default'), a.prefix);
  assert.match(a.prefix, /^198\.1[89]\.\d{1,3}$/);
  assert.deepEqual(
    a.hosts.map((h) => [h.name, h.address, h.netns]),
    [
      ['h102', `${a.prefix}.102`, 'tskv-default.h102'],
      ['docker', `${a.prefix}.103`, 'tskv-default.docker'],
      ['h104', `${a.prefix}.104`, 'tskv-default.h104'],
    ],
  );
  assert.equal(a.netns, 'tskv-default.net');
  assert.equal(a.controllerAddress, `${a.prefix}.1`);
  assert.equal(
    a.proxyCommand,
    'nsenter --net=/run/netns/tskv-default.net socat -b 131072 STDIO TCP:%h:%p,nodelay',
  );
  assert.notEqual(labPrefix('default'), labPrefix('other'));
  // Each host's disk and log in the lab's folder; the disks in one folder that down removes.
  assert.equal(a.hosts[1]!.diskDir, `${a.disksDir}/docker`);
  assert.equal(a.disksDir, `${a.dir}/disks`);
  assert.equal(a.hosts[1]!.logPath, `${a.dir}/docker.log`);
});

test('the init of a lab is none or systemd', () => {
  assert.equal(validateLabInit('none'), 'none');
  assert.equal(validateLabInit('systemd'), 'systemd');
  assert.throws(() => validateLabInit('sysvinit'), /invalid init 'sysvinit': use none or systemd/);
});

test('bad lab and host names are refused', () => {
  for (const bad of ['', 'Default', 'a.b', '-x', 'x-', 'waytoolonglabname1'])
    assert.throws(() => validateLabName(bad));
  assert.throws(() => validateHostNames([]));
  assert.throws(() => validateHostNames(['a', 'a']), /twice/);
  assert.throws(() => validateHostNames(['net']));
  assert.throws(() => validateHostNames(['h.1']));
  assert.deepEqual(validateHostNames(['a', 'new-h102']), ['a', 'new-h102']);
});

const doc: LabInventoryDoc = {
  cluster: { token: 'tskv-lab-x' },
  etcd: { version: '3.4.23', source: '/c/etcd-v3.4.23-linux-amd64.tar.gz', flags: { 'enable-v2': true } },
  ssh: {
    user: 'root',
    port: 22,
    identityFile: '/l/id_ed25519',
    knownHosts: '/l/known_hosts',
    hostKeyPolicy: 'strict',
    proxyCommand: 'nsenter --net=/run/netns/tskv-x.net socat STDIO TCP:%h:%p',
  },
  hosts: { h102: { address: '198.18.1.102' }, docker: { address: '198.18.1.103' } },
};

test('overrides merge deeply, and null removes a key', () => {
  const v = mergeOverrides(doc, {
    ssh: { user: 'ops', proxyCommand: null },
    hosts: { docker: null, h9: { address: '1.2.3.4' } },
  });
  assert.equal(v.ssh.user, 'ops');
  assert.equal(v.ssh.proxyCommand, undefined);
  assert.equal(v.ssh.knownHosts, '/l/known_hosts');
  assert.deepEqual(Object.keys(v.hosts), ['h102', 'h9']);
  assert.equal(doc.ssh.user, 'root', 'the base document is not changed');
});

test("the YAML is what the controller's inventory loader reads back", () => {
  const inv = parseInventory(inventoryText(doc, 'x'), '/l/inventory.yaml');
  assert.deepEqual(
    inv.hosts.map((h) => [h.name, h.address, h.ssh.proxyCommand]),
    [
      ['h102', '198.18.1.102', doc.ssh.proxyCommand],
      ['docker', '198.18.1.103', doc.ssh.proxyCommand],
    ],
  );
  assert.equal(inv.etcd.version, '3.4.23');
  assert.equal(inv.etcd.flags['enable-v2'], true);
  assert.equal(toYaml({ a: { b: 'yes', c: '1.2', d: 'x y' } }), 'a:\n  b: "yes"\n  c: "1.2"\n  d: "x y"\n');
});

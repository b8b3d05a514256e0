/** What the controller sends the agent passes the agent's rules (policy/): nothing tskv needs is refused. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ETCD_BINARY, etcdVersionDir } from '../../../../agent/api/index.ts';
import { checkEtcdBinary, checkTarball } from '../../../../agent/policy/etcd.ts';
import { etcdUnitProblem, unitPathWords } from '../../../../agent/policy/etcd-unit.ts';
import { envFileProblem } from '../../../../agent/policy/files.ts';
import { HOST_LAYOUT } from '../../../../agent/policy/layout.ts';
import { relayFilePath } from '../../../../agent/policy/relay.ts';
import { remoteTarballPath } from '../../../../controller/artifacts/etcd-tarball.ts';
import { parseInventory } from '../../../../controller/inventory/load.ts';
import { renderHost } from '../../../../controller/render/render.ts';

const ROOT = new URL('../../../../', import.meta.url).pathname;

/** The seed inventory with extra etcd flags of every kind a value can take. */
function inventory() {
  const text = readFileSync(join(ROOT, 'inventories/seed.yaml'), 'utf8').replace(
    'version: 3.4.23',
    'version: 3.4.23\n  flags: { enable-v2: true, quota-backend-bytes: 8589934592, log-level: "a \\"quoted\\" $value\\\\" }',
  );
  return parseInventory(text, join(ROOT, 'inventories/seed.yaml'));
}

test('the env file the controller writes holds only ETCD_* settings', () => {
  const inv = inventory();
  for (const host of inv.hosts) {
    for (const state of ['new', 'existing'] as const) {
      const env = renderHost(inv, host.name, 'env', { state });
      assert.match(env, /ETCD_LOG_LEVEL=/);
      assert.equal(envFileProblem(env), undefined, env);
    }
  }
});

test('the systemd unit the controller installs passes the unit rules', () => {
  const inv = inventory();
  for (const host of inv.hosts) {
    const unit = renderHost(inv, host.name, 'systemd');
    assert.equal(etcdUnitProblem(unit, HOST_LAYOUT), undefined, unit);
  }
});

test('the unit of odd data and WAL dirs and low ports passes, and names exactly those dirs writable', () => {
  const dataDir = '/srv/etcd data/100% "{name}"\\x';
  const text = readFileSync(join(ROOT, 'inventories/seed.yaml'), 'utf8')
    .replace(
      'version: 3.4.23',
      `version: 3.4.23\n  dataDir: ${JSON.stringify(dataDir)}\n  flags: { wal-dir: /wal/x }`,
    )
    .replace('clientPort: 2379', 'clientPort: 379')
    .replace('peerPort: 2380', 'peerPort: 380');
  const inv = parseInventory(text, join(ROOT, 'inventories/seed.yaml'));
  for (const host of inv.hosts) {
    const unit = renderHost(inv, host.name, 'systemd');
    assert.equal(etcdUnitProblem(unit, HOST_LAYOUT), undefined, unit);
    const paths = /^ReadWritePaths=(.*)$/m.exec(unit)?.[1] ?? '';
    assert.deepEqual(unitPathWords(paths), [host.dataDir, '/wal/x']);
    assert.match(unit, /^AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
    assert.match(unit, /^ProtectHome=yes$/m);
  }
  const home = parseInventory(
    text.replace(JSON.stringify(dataDir), '/home/etcd/{name}'),
    join(ROOT, 'inventories/seed.yaml'),
  );
  const unit = renderHost(home, 'h102', 'systemd');
  assert.doesNotMatch(unit, /ProtectHome/, 'etcd keeps its data under /home: not hidden from it');
  assert.equal(etcdUnitProblem(unit, HOST_LAYOUT), undefined, unit);
});

test('the etcd binary and the tarball paths the controller uses pass (install, fetch, relay)', async () => {
  checkEtcdBinary(HOST_LAYOUT, ETCD_BINARY);
  checkEtcdBinary(HOST_LAYOUT, `${etcdVersionDir('3.6.0-rc.1')}/etcd`);
  const sha256 = 'c0ffee'.repeat(10).concat('c0fe');
  for (const fileName of [
    'etcd-v3.4.23-linux-amd64.tar.zst',
    'etcd-v3.4.23-linux-amd64.tar.gz',
    'etcd.tgz',
  ]) {
    const tarball = remoteTarballPath({ fileName, sha256 });
    // The path and name rules: the cache folder is not on this machine (checkSecurePath passes then).
    await checkTarball(HOST_LAYOUT, tarball, sha256);
    const offer = { kind: 'tarball' as const, tarball, sha256 };
    assert.equal(
      await relayFilePath(offer, { layout: HOST_LAYOUT, installDir: '/x', execPath: '/x/node' }),
      tarball,
    );
  }
});

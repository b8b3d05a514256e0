/**
 * The unit tskv renders, as this machine's systemd reads it (`systemd-analyze verify`, no systemd
 * running needed): every setting known and its value accepted. Whether each setting lets etcd run
 * is for a host where systemd runs it.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseInventory } from '../../../../controller/inventory/load.ts';
import { renderHost } from '../../../../controller/render/render.ts';

const ROOT = new URL('../../../../', import.meta.url).pathname;

function analyzer(): string | undefined {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'systemd-analyze is not installed';
  }
}

test('systemd-analyze verify accepts every setting of the rendered unit', {
  skip: analyzer() ?? false,
}, () => {
  const seed = join(ROOT, 'inventories/seed.yaml');
  const variants = {
    plain: readFileSync(seed, 'utf8'),
    'wal dir, odd data dir, low ports': readFileSync(seed, 'utf8')
      .replace(
        'version: 3.4.23',
        'version: 3.4.23\n  dataDir: "/srv/etcd data/100%/{name}"\n  flags: { wal-dir: /wal/x }',
      )
      .replace('clientPort: 2379', 'clientPort: 379'),
    'data under /home': readFileSync(seed, 'utf8').replace(
      'version: 3.4.23',
      'version: 3.4.23\n  dataDir: /home/etcd/{name}',
    ),
  };
  const dir = mkdtempSync(join(tmpdir(), 'tskv-unit-verify-'));
  try {
    // What verify checks beyond the syntax: that ExecStart= can run and the env file exists.
    const etcd = join(dir, 'etcd');
    writeFileSync(etcd, '#!/bin/sh\n');
    chmodSync(etcd, 0o755);
    writeFileSync(join(dir, 'etcd.env'), 'ETCD_NAME=x\n');
    for (const [name, text] of Object.entries(variants)) {
      const unit = renderHost(parseInventory(text, seed), 'h102', 'systemd')
        .replace('ExecStart=/usr/local/bin/etcd', `ExecStart=${etcd}`)
        .replace('EnvironmentFile=/etc/etcd/etcd.env', `EnvironmentFile=${join(dir, 'etcd.env')}`);
      const file = join(dir, 'etcd.service');
      writeFileSync(file, unit);
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', file], { encoding: 'utf8' });
      const said = `${r.stdout}${r.stderr}`
        .split('\n')
        .filter((l) => l.includes('etcd.service'))
        .join('\n');
      assert.equal(said, '', `${name}:\n${unit}`);
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

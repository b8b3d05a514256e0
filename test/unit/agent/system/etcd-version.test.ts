import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { etcdVersion } from '../../../../agent/system/etcd.ts';

const dir = mkdtempSync(join(tmpdir(), 'tskv-etcd-version-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function fakeEtcd(version: string, comment = ''): string {
  const path = join(dir, 'etcd');
  writeFileSync(path, `#!/bin/sh\n${comment}echo run >> ${dir}/runs\necho "etcd Version: ${version}"\n`);
  chmodSync(path, 0o755);
  return path;
}
const runs = () => readFileSync(join(dir, 'runs'), 'utf8').trim().split('\n').length;

test('etcd --version runs once per binary, and again when the file changes', async () => {
  const etcd = fakeEtcd('3.4.23');
  assert.equal(await etcdVersion(etcd), '3.4.23');
  assert.equal(await etcdVersion(etcd), '3.4.23');
  assert.equal(runs(), 1);
  rmSync(etcd);
  fakeEtcd('3.5.30', '# another build\n');
  assert.equal(await etcdVersion(etcd), '3.5.30');
  assert.equal(runs(), 2);
});

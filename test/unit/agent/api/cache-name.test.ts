/** Files in the hosts' cache are named by their content: the controller's names are the ones the agent takes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheFileName, namesContent } from '../../../../agent/api/index.ts';

const SHA = '0123456789abcdef'.repeat(4);
const OTHER = 'f'.repeat(64);

test('the sha256 prefix goes before the archive extension, which stays last (tar is told zstd by .zst)', () => {
  const cases: [string, string][] = [
    ['etcd-v3.4.23-linux-amd64.tar.gz', 'etcd-v3.4.23-linux-amd64.0123456789abcdef.tar.gz'],
    ['etcd-v3.4.23-linux-amd64.tar.zst', 'etcd-v3.4.23-linux-amd64.0123456789abcdef.tar.zst'],
    ['etcd-v3.6.0-rc.1-linux-arm64.tgz', 'etcd-v3.6.0-rc.1-linux-arm64.0123456789abcdef.tgz'],
    ['etcd.tar.xz', 'etcd.0123456789abcdef.tar.xz'],
    ['etcd.tar', 'etcd.0123456789abcdef.tar'],
    ['etcd-build', 'etcd-build.0123456789abcdef'],
  ];
  for (const [name, cached] of cases) {
    assert.equal(cacheFileName(name, SHA), cached);
    assert.ok(namesContent(cached, SHA), cached);
    assert.equal(namesContent(cached, OTHER), false, `${cached} does not name ${OTHER}`);
  }
});

test('names that do not carry the sha256 asked are not taken', () => {
  for (const name of [
    'etcd-v3.4.23-linux-amd64.tar.gz',
    'etcd-v3.4.23-linux-amd64.tar.zst',
    '.0123456789abcdef.tar.gz',
    '0123456789abcdef.tar.gz',
    '.etcd.0123456789abcdef.tar.gz',
    'etcd.0123456789abcdef.tar.gz.part-1',
    'etcd-0123456789abcdef.tar.gz',
  ]) {
    assert.equal(namesContent(name, SHA), false, name);
  }
  assert.equal(namesContent('etcd.0123456789abcdef.tar.gz', 'not a sha256'), false);
});

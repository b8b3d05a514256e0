import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ETCD_RELEASE_CHECKSUMS } from '../../../../controller/artifacts/etcd-checksums.ts';
import {
  ETCD_ARCHES,
  expectedSha256,
  officialEtcdSha256,
  officialEtcdUrl,
} from '../../../../controller/artifacts/etcd-release.ts';

describe('the table of official etcd checksums', () => {
  test('every line is a 3.4/3.5/3.6 release, an arch tskv fetches and 64 lower-case hex digits', () => {
    assert.ok(ETCD_RELEASE_CHECKSUMS.length >= 100, `only ${ETCD_RELEASE_CHECKSUMS.length} lines`);
    for (const row of ETCD_RELEASE_CHECKSUMS) {
      assert.match(row.version, /^3\.[456]\.(0|[1-9]\d*)$/, JSON.stringify(row));
      assert.ok((ETCD_ARCHES as readonly string[]).includes(row.arch), JSON.stringify(row));
      assert.match(row.sha256, /^[0-9a-f]{64}$/, JSON.stringify(row));
    }
  });

  test('no release is listed twice, no checksum twice, and each release has both arches', () => {
    const releases = ETCD_RELEASE_CHECKSUMS.map((r) => `${r.version}/${r.arch}`);
    assert.equal(new Set(releases).size, releases.length);
    const sums = ETCD_RELEASE_CHECKSUMS.map((r) => r.sha256);
    assert.equal(new Set(sums).size, sums.length);
    for (const { version } of ETCD_RELEASE_CHECKSUMS) {
      for (const arch of ETCD_ARCHES) assert.ok(officialEtcdSha256(version, arch), `${version} ${arch}`);
    }
  });

  test('covers the seed inventory and each minor line', () => {
    for (const version of ['3.4.23', '3.5.17', '3.6.0']) {
      assert.ok(officialEtcdSha256(version, 'amd64'), version);
    }
    assert.equal(
      officialEtcdSha256('3.4.23', 'amd64'),
      'f0c53075564c1b98f5e6b1c009dd5c55b911fae1fe4993913246e8d2c8976651',
    );
  });
});

describe('the checksum a URL source is held to', () => {
  const table = officialEtcdSha256('3.5.17', 'arm64')!;

  test('the official URL, or a mirror of the official file, takes the table value for its arch', () => {
    assert.equal(
      officialEtcdUrl('3.5.17'),
      'https://github.com/etcd-io/etcd/releases/download/v3.5.17/etcd-v3.5.17-linux-amd64.tar.gz',
    );
    assert.deepEqual(expectedSha256('3.5.17', officialEtcdUrl('3.5.17', 'arm64'), undefined), {
      sha256: table,
      from: 'table',
    });
    assert.deepEqual(
      expectedSha256('3.5.17', 'http://mirror.local/etcd/etcd-v3.5.17-linux-arm64.tar.gz?x=1', undefined),
      { sha256: table, from: 'table' },
    );
  });

  test("etcd.sha256 wins; any other file, or another version's, has none", () => {
    assert.deepEqual(expectedSha256('3.5.17', officialEtcdUrl('3.5.17'), 'AB'.repeat(32)), {
      sha256: 'ab'.repeat(32),
      from: 'inventory',
    });
    assert.equal(expectedSha256('3.5.17', 'https://example.com/etcd.tar.gz', undefined), undefined);
    assert.equal(expectedSha256('3.5.17', officialEtcdUrl('3.5.16'), undefined), undefined);
    assert.equal(expectedSha256('3.7.0', officialEtcdUrl('3.7.0'), undefined), undefined);
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync, zstdDecompressSync } from 'node:zlib';
import { extractTarball } from '../../../../agent/system/tar.ts';
import { resolveEtcdArtifact, zstdForm } from '../../../../controller/artifacts/etcd-repack.ts';
import { remoteTarballPath } from '../../../../controller/artifacts/etcd-tarball.ts';

/** Stands in for the tar archive inside the .tar.gz: repacking never looks inside it. */
const TAR = Buffer.from('a tar archive, byte for byte '.repeat(2000));

describe('the zstd form of the etcd tarball', () => {
  let dir: string;
  let tarball: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-repack-'));
    tarball = join(dir, 'etcd-v3.4.23-linux-amd64.tar.gz');
    writeFileSync(tarball, gzipSync(TAR));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('holds the same tar archive, is named for the hosts cache, and is made once per tarball', async () => {
    const cache = join(dir, 'cache');
    const artifact = await resolveEtcdArtifact(
      { version: '3.4.23', source: tarball, sha256: undefined, fetch: 'controller', flags: {} },
      cache,
    );
    const zstd = artifact.zstd;
    assert.ok(zstd, 'a .tar.gz gets a zstd form');
    assert.equal(zstd.fileName, 'etcd-v3.4.23-linux-amd64.tar.zst');
    assert.equal(
      remoteTarballPath(zstd),
      `/var/lib/tskv/cache/etcd-v3.4.23-linux-amd64.${zstd.sha256.slice(0, 16)}.tar.zst`,
      "named by its own bytes' sha256, not the .tar.gz's: another zstd makes other bytes, under another name",
    );
    assert.notEqual(remoteTarballPath(zstd), remoteTarballPath({ ...zstd, sha256: artifact.sha256 }));
    assert.deepEqual(zstdDecompressSync(readFileSync(zstd.path)), TAR);
    assert.equal(zstd.size, statSync(zstd.path).size);
    const made = statSync(zstd.path).mtimeMs;
    const again = await zstdForm(artifact, cache);
    assert.deepEqual(again, zstd);
    assert.equal(statSync(zstd.path).mtimeMs, made, 'reused, not made again');
  });

  test('a damaged repack in the cache (same size, other bytes) is made again', async () => {
    const cache = join(dir, 'cache-damaged');
    const artifact = await resolveEtcdArtifact(
      { version: '3.4.23', source: tarball, sha256: undefined, fetch: 'controller', flags: {} },
      cache,
    );
    const zstd = artifact.zstd!;
    const bytes = readFileSync(zstd.path);
    bytes[bytes.length >> 1]! ^= 0xff;
    writeFileSync(zstd.path, bytes);
    const again = await zstdForm(artifact, cache);
    // Made again: whole, and recorded as it now is (zstd's frames need not come out byte for byte
    // the same from one run to the next, so not compared with the first repack).
    assert.equal(again?.path, zstd.path);
    assert.deepEqual(zstdDecompressSync(readFileSync(zstd.path)), TAR);
    assert.equal(again?.size, statSync(zstd.path).size);
    assert.equal(again?.sha256, createHash('sha256').update(readFileSync(zstd.path)).digest('hex'));
  });

  test("a real etcd-layout tarball's zstd form unpacks with the agent's tar call", async () => {
    const src = join(dir, 'src', 'etcd-v3.4.23-linux-amd64');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'etcd'), '#!/bin/sh\necho etcd\n');
    const tgz = join(dir, 'real', 'etcd-v3.4.23-linux-amd64.tar.gz');
    mkdirSync(join(dir, 'real'));
    execFileSync('tar', ['-czf', tgz, '-C', join(dir, 'src'), 'etcd-v3.4.23-linux-amd64']);
    const artifact = await resolveEtcdArtifact(
      { version: '3.4.23', source: tgz, sha256: undefined, fetch: 'controller', flags: {} },
      join(dir, 'cache'),
    );
    const into = join(dir, 'unpacked');
    mkdirSync(into);
    await extractTarball(artifact.zstd!.path, into);
    assert.equal(
      readFileSync(join(into, 'etcd-v3.4.23-linux-amd64', 'etcd'), 'utf8'),
      '#!/bin/sh\necho etcd\n',
    );
  });

  test('other sources have none, and a tarball that is not gzip gives none instead of failing', async () => {
    const plain = {
      path: tarball,
      fileName: 'etcd.tar.xz',
      sha256: 'a'.repeat(64),
      size: 1,
      downloaded: false,
    };
    assert.equal(await zstdForm(plain, join(dir, 'cache')), undefined);
    const bogus = join(dir, 'bogus.tar.gz');
    writeFileSync(bogus, 'not gzip');
    const broken = {
      path: bogus,
      fileName: 'bogus.tar.gz',
      sha256: 'b'.repeat(64),
      size: 8,
      downloaded: false,
    };
    assert.equal(await zstdForm(broken, join(dir, 'cache')), undefined);
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { remoteTarballPath, resolveEtcdTarball } from '../../../../controller/artifacts/etcd-tarball.ts';
import type { TskvError } from '../../../../controller/errors.ts';
import type { EtcdSpec } from '../../../../controller/inventory/model.ts';
import { likelyCause } from '../../../../controller/plays/host-etcd.ts';

const BYTES = Buffer.from('not really a tarball, but bytes with a checksum');
const SHA = createHash('sha256').update(BYTES).digest('hex');
const spec = (source: string, sha256?: string): EtcdSpec => ({
  version: '3.4.23',
  source,
  sha256,
  flags: {},
});

describe('resolveEtcdTarball', () => {
  let dir: string;
  let base: string;
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    if (req.url === '/moved/etcd-v3.4.23-linux-amd64.tar.gz') {
      res.writeHead(302, { location: '/etcd-v3.4.23-linux-amd64.tar.gz' }).end();
    } else if (req.url === '/etcd-v3.4.23-linux-amd64.tar.gz') {
      res.end(BYTES);
    } else {
      res.writeHead(404).end();
    }
  });
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-artifacts-'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a local file: checksum computed, and checked when the inventory gives one', async () => {
    const file = join(dir, 'etcd-v3.4.23-linux-amd64.tar.gz');
    writeFileSync(file, BYTES);
    const a = await resolveEtcdTarball(spec(file, SHA), join(dir, 'cache'));
    assert.deepEqual(a, {
      path: file,
      fileName: 'etcd-v3.4.23-linux-amd64.tar.gz',
      sha256: SHA,
      size: BYTES.length,
      downloaded: false,
    });
    assert.equal(remoteTarballPath(a), '/var/lib/tskv/cache/etcd-v3.4.23-linux-amd64.tar.gz');
    await assert.rejects(
      resolveEtcdTarball(spec(file, '0'.repeat(64))),
      (e: TskvError) => e.code === 'E_ETCD_SHA256',
    );
    await assert.rejects(
      resolveEtcdTarball(spec(join(dir, 'missing.tar.gz'))),
      (e: TskvError) => e.exitCode === 2,
    );
  });

  test('a URL: downloaded once (redirects followed) into the cache, then reused', async () => {
    const cache = join(dir, 'cache-url');
    const url = `${base}/moved/etcd-v3.4.23-linux-amd64.tar.gz`;
    const first = await resolveEtcdTarball(spec(url, SHA), cache);
    assert.equal(first.downloaded, true);
    assert.equal(first.sha256, SHA);
    const seen = requests;
    const second = await resolveEtcdTarball(spec(url, SHA), cache);
    assert.equal(second.downloaded, false);
    assert.equal(requests, seen, 'no second download');
  });

  test('a URL whose bytes do not match etcd.sha256 is refused and not cached; a 404 names the URL', async () => {
    const cache = join(dir, 'cache-bad');
    const url = `${base}/etcd-v3.4.23-linux-amd64.tar.gz`;
    await assert.rejects(
      resolveEtcdTarball(spec(url, 'f'.repeat(64)), cache),
      (e: TskvError) => e.code === 'E_ETCD_SHA256',
    );
    await assert.rejects(resolveEtcdTarball(spec(`${base}/nope.tar.gz`), cache), (e: TskvError) =>
      /cannot download http:\/\/127\.0\.0\.1:\d+\/nope\.tar\.gz/.test(e.message),
    );
  });
});

test("likelyCause picks etcd's critical line over earlier noise", () => {
  const lines = [
    '2026-01-01 I | etcdmain: etcd Version: 3.4.23',
    '2026-01-01 W | etcdmain: some warning about errors',
    '2026-01-01 C | etcdmain: error listing data dir: /var/lib/etcd/h104.etcd',
    'tskv-supervisor: etcd exit 1',
  ];
  assert.equal(
    likelyCause(lines),
    '2026-01-01 C | etcdmain: error listing data dir: /var/lib/etcd/h104.etcd',
  );
  assert.equal(
    likelyCause([
      '{"level":"info","msg":"x"}',
      '{"level":"fatal","msg":"listen tcp 1.2.3.4:2380: bind: address already in use"}',
    ]),
    '{"level":"fatal","msg":"listen tcp 1.2.3.4:2380: bind: address already in use"}',
  );
  assert.equal(likelyCause(['all fine']), undefined);
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent, type Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from 'undici';
import { officialEtcdSha256 } from '../../../../controller/artifacts/etcd-release.ts';
import {
  proxyDispatcher,
  remoteTarballPath,
  resolveEtcdTarball,
} from '../../../../controller/artifacts/etcd-tarball.ts';
import { describeCause, InputError, type TskvError } from '../../../../controller/errors.ts';
import type { EtcdSpec } from '../../../../controller/inventory/model.ts';
import { likelyCause } from '../../../../controller/plays/host-etcd.ts';

const BYTES = Buffer.from('not really a tarball, but bytes with a checksum');
const SHA = createHash('sha256').update(BYTES).digest('hex');
const OTHER = Buffer.from('another build of the same name');
const OTHER_SHA = createHash('sha256').update(OTHER).digest('hex');
const spec = (source: string, sha256?: string): EtcdSpec => ({
  version: '3.4.23',
  source,
  sha256,
  fetch: 'controller',
  flags: {},
});

describe('resolveEtcdTarball: local files', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-artifacts-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('checksum computed, and checked when the inventory gives one; no table entry needed', async () => {
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
    assert.equal(
      remoteTarballPath(a),
      `/var/lib/tskv/cache/etcd-v3.4.23-linux-amd64.${SHA.slice(0, 16)}.tar.gz`,
    );
    // Named like the official 3.4.23 tarball but other bytes: a local file is not held to the table.
    assert.equal((await resolveEtcdTarball(spec(file), join(dir, 'cache'))).sha256, SHA);
    await assert.rejects(
      resolveEtcdTarball(spec(file, '0'.repeat(64))),
      (e: TskvError) => e.code === 'E_ETCD_SHA256',
    );
    await assert.rejects(
      resolveEtcdTarball(spec(join(dir, 'missing.tar.gz'))),
      (e: TskvError) => e.exitCode === 2,
    );
  });
});

/** A self-signed certificate for 127.0.0.1 (Node cannot make X.509 certificates itself). */
function selfSigned(dir: string): { key: Buffer; cert: Buffer } {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'],
      ...['-addext', 'subjectAltName=IP:127.0.0.1'],
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

/** Everything under `dir`, relative: what a failed download left behind. */
function filesUnder(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort() : [];
}

const NAME = 'etcd-v3.4.23-linux-amd64.tar.gz';

describe('resolveEtcdTarball: downloads', () => {
  let dir: string;
  let http: string;
  let https: string;
  const seen: string[] = [];
  let previous: Dispatcher;

  /** Answers on the raw socket, for what a well-behaved server would not send. */
  const raw = (socket: Socket, head: string, body: Buffer) => {
    socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\n${head}Connection: close\r\n\r\n`), body]));
  };
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    seen.push(`${'encrypted' in req.socket ? 'https' : 'http'} ${url}`);
    if (url === `/${NAME}` || url === `/v3.5.17/etcd-v3.5.17-linux-amd64.tar.gz`) {
      res.end(BYTES);
    } else if (url === `/other/${NAME}`) {
      res.end(OTHER);
    } else if (url === `/moved/${NAME}`) {
      res.writeHead(302, { location: `/${NAME}` }).end();
    } else if (url === `/to-http/${NAME}`) {
      res.writeHead(301, { location: `${http}/${NAME}` }).end();
    } else if (url === `/loop/${NAME}`) {
      res.writeHead(307, { location: `/loop/${NAME}` }).end();
    } else if (url === `/truncated/${NAME}`) {
      raw(req.socket, `Content-Length: ${BYTES.length}\r\n`, BYTES.subarray(0, 20));
    } else if (url === `/close-delimited/${NAME}`) {
      raw(req.socket, '', BYTES);
    } else if (url === `/close-delimited-cut/${NAME}`) {
      raw(req.socket, '', BYTES.subarray(0, 20));
    } else {
      res.writeHead(404).end();
    }
  };
  const plain = createServer(handler);
  let secure: ReturnType<typeof createHttpsServer>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-download-'));
    secure = createHttpsServer(selfSigned(dir), handler);
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => secure.listen(0, '127.0.0.1', r));
    http = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
    https = `https://127.0.0.1:${(secure.address() as AddressInfo).port}`;
    previous = getGlobalDispatcher();
    setGlobalDispatcher(new Agent({ connect: { ca: readFileSync(join(dir, 'cert.pem')) } }));
  });
  after(async () => {
    setGlobalDispatcher(previous);
    plain.closeAllConnections();
    secure.closeAllConnections();
    plain.close();
    secure.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh cache for each case, so no case sees another's downloads. */
  let n = 0;
  const cache = () => join(dir, `cache-${++n}`);

  test('downloaded once (redirects followed, over https too) into the cache by URL and hash, then reused', async () => {
    for (const base of [http, https]) {
      const into = cache();
      const url = `${base}/moved/${NAME}`;
      const first = await resolveEtcdTarball(spec(url, SHA), into);
      assert.equal(first.downloaded, true);
      assert.equal(first.sha256, SHA);
      assert.equal(first.fileName, NAME);
      assert.equal(first.size, BYTES.length);
      const key = createHash('sha256').update(url).digest('hex').slice(0, 32);
      assert.equal(first.path, join(into, 'downloads', `${key}-${SHA}`, NAME));
      assert.deepEqual(readFileSync(first.path), BYTES);
      const count = seen.length;
      const second = await resolveEtcdTarball(spec(url, SHA), into);
      assert.equal(second.downloaded, false);
      assert.equal(second.path, first.path);
      assert.equal(seen.length, count, 'no second download');
    }
  });

  test('a URL with neither etcd.sha256 nor a table entry is refused (exit 2) before any request', async () => {
    const count = seen.length;
    await assert.rejects(
      resolveEtcdTarball(spec(`${http}/${NAME.replace('.tar.gz', '.tgz')}`), cache()),
      (e) => {
        assert.ok(e instanceof InputError);
        assert.equal(e.exitCode, 2);
        assert.match(e.message, /add the line 'sha256: <64 hex digits>' under etcd:/);
        return true;
      },
    );
    assert.equal(seen.length, count);
  });

  test("the official tarball's name, from any host, is held to the table's checksum", async () => {
    const into = cache();
    const url = `${http}/v3.5.17/etcd-v3.5.17-linux-amd64.tar.gz`;
    await assert.rejects(resolveEtcdTarball({ ...spec(url), version: '3.5.17' }, into), (e: TskvError) => {
      assert.equal(e.code, 'E_ETCD_SHA256');
      assert.equal(
        e.message,
        `${url} has sha256 ${SHA}, the official checksum in tskv's table is ${officialEtcdSha256('3.5.17', 'amd64')}`,
      );
      return true;
    });
    assert.deepEqual(
      filesUnder(join(into, 'downloads')).filter((f) => f.endsWith('.gz') || f.includes('.part')),
      [],
    );
  });

  test('bytes that do not match etcd.sha256 are refused and not cached', async () => {
    const into = cache();
    await assert.rejects(
      resolveEtcdTarball(spec(`${http}/${NAME}`, 'f'.repeat(64)), into),
      (e: TskvError) => e.code === 'E_ETCD_SHA256' && e.message.includes(`etcd.sha256 is ${'f'.repeat(64)}`),
    );
    assert.deepEqual(
      filesUnder(join(into, 'downloads')).filter((f) => f.includes('.')),
      [],
    );
  });

  test('a body shorter than its Content-Length (connection closed) fails and leaves nothing', async () => {
    const into = cache();
    await assert.rejects(
      resolveEtcdTarball(spec(`${http}/truncated/${NAME}`, SHA), into),
      (e: TskvError) => e.code === 'E_ETCD_DOWNLOAD',
    );
    assert.deepEqual(
      filesUnder(join(into, 'downloads')).filter((f) => f.includes('.')),
      [],
    );
  });

  test('without Content-Length, only a body whose sha256 matches is taken', async () => {
    const into = cache();
    await assert.rejects(
      resolveEtcdTarball(spec(`${http}/close-delimited-cut/${NAME}`, SHA), into),
      (e: TskvError) => e.code === 'E_ETCD_SHA256',
    );
    assert.deepEqual(
      filesUnder(join(into, 'downloads')).filter((f) => f.includes('.')),
      [],
    );
    const whole = await resolveEtcdTarball(spec(`${http}/close-delimited/${NAME}`, SHA), into);
    assert.equal(whole.downloaded, true);
    assert.deepEqual(readFileSync(whole.path), BYTES);
  });

  test('a redirect from https to http is refused, and the http URL is never asked', async () => {
    const count = seen.length;
    await assert.rejects(
      resolveEtcdTarball(spec(`${https}/to-http/${NAME}`, SHA), cache()),
      (e: TskvError) => {
        assert.equal(e.code, 'E_ETCD_DOWNLOAD');
        assert.match(describeCause(e), /refused the redirect .* https must not become plain http/);
        return true;
      },
    );
    assert.deepEqual(seen.slice(count), [`https /to-http/${NAME}`]);
  });

  test('redirects are followed at most 5 times', async () => {
    const count = seen.length;
    await assert.rejects(resolveEtcdTarball(spec(`${http}/loop/${NAME}`, SHA), cache()), (e: TskvError) =>
      /more than 5 redirects/.test(describeCause(e)),
    );
    assert.equal(seen.length - count, 6);
  });

  test('a cached file serves only the URL and hash it was verified for, and a damaged one is fetched again', async () => {
    const into = cache();
    const url = `${http}/${NAME}`;
    const good = await resolveEtcdTarball(spec(url, SHA), into);
    // Another expected hash for the same URL: the cached file is not taken for it.
    const count = seen.length;
    await assert.rejects(
      resolveEtcdTarball(spec(url, 'e'.repeat(64)), into),
      (e: TskvError) => e.code === 'E_ETCD_SHA256',
    );
    assert.equal(seen.length, count + 1, 'fetched again, not served from the cache');
    // The cached file damaged (a partial write, a disk error): hashed on use, and replaced.
    writeFileSync(good.path, BYTES.subarray(0, 10));
    const again = await resolveEtcdTarball(spec(url, SHA), into);
    assert.equal(again.downloaded, true);
    assert.equal(again.path, good.path);
    assert.deepEqual(readFileSync(again.path), BYTES);
    assert.equal(seen.length, count + 2);
  });

  test('two URLs of the same file name are cached apart, here and on the hosts', async () => {
    const into = cache();
    const count = seen.length;
    for (let i = 0; i < 2; i++) {
      const a = await resolveEtcdTarball(spec(`${http}/${NAME}`, SHA), into);
      const b = await resolveEtcdTarball(spec(`${http}/other/${NAME}`, OTHER_SHA), into);
      assert.deepEqual([a.fileName, b.fileName], [NAME, NAME]);
      assert.deepEqual([readFileSync(a.path), readFileSync(b.path)], [BYTES, OTHER]);
      assert.notEqual(remoteTarballPath(a), remoteTarballPath(b), 'one name in the hosts cache, one content');
    }
    assert.equal(seen.length, count + 2, 'each downloaded once');
  });

  test("the operator's http_proxy is used for the download (as curl and apt do); none set: direct", async () => {
    const proxied: string[] = [];
    const proxy = createServer((req, res) => {
      proxied.push(req.url ?? '');
      res.end(BYTES);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const saved = process.env.http_proxy;
    process.env.http_proxy = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const url = `http://mirror.invalid/${NAME}`;
      const got = await resolveEtcdTarball(spec(url, SHA), cache());
      assert.equal(got.sha256, SHA);
      assert.deepEqual(proxied, [url]);
    } finally {
      if (saved === undefined) delete process.env.http_proxy;
      else process.env.http_proxy = saved;
      proxy.close();
    }
    assert.equal(proxyDispatcher({}), undefined);
    assert.ok(proxyDispatcher({ HTTPS_PROXY: 'http://p:3128' }));
  });

  test('an HTTP error names the URL', async () => {
    await assert.rejects(resolveEtcdTarball(spec(`${http}/nope.tar.gz`, SHA), cache()), (e: TskvError) =>
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

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cacheFileName } from '../../../../agent/api/index.ts';
import { makeEtcdFetch, redirectTarget } from '../../../../agent/handlers/etcd-fetch.ts';
import { layoutUnder } from '../../../../agent/policy/layout.ts';

const ctx = { buildId: 'test' };
const BODY = Buffer.from('etcd tarball bytes '.repeat(1000));
const SHA = createHash('sha256').update(BODY).digest('hex');

/** A loopback server: /ok the body, /r/N N redirects before it, /loop for ever, /big and /lying ill-sized, /404. */
function startServer(hits: string[]): Promise<Server> {
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.push(path);
    const hop = /^\/r\/(\d+)$/.exec(path);
    if (path === '/ok') {
      res.writeHead(200, { 'content-length': BODY.length });
      res.end(BODY);
    } else if (hop) {
      const n = Number(hop[1]);
      res.writeHead(302, { location: n <= 1 ? '/ok' : `/r/${n - 1}` });
      res.end();
    } else if (path === '/loop') {
      res.writeHead(301, { location: '/loop' });
      res.end();
    } else if (path === '/ftp') {
      res.writeHead(302, { location: 'ftp://127.0.0.1/etcd.tar.gz' });
      res.end();
    } else if (path === '/big') {
      res.writeHead(200, { 'content-length': 10 * BODY.length });
      res.end();
    } else if (path === '/cut') {
      res.writeHead(200, { 'content-length': 2 * BODY.length });
      res.write(BODY, () => res.destroy());
    } else if (path === '/close') {
      // HTTP/1.0 style, as python's http.server: the connection closes right after the body.
      res.writeHead(200, { 'content-length': 8 * BODY.length, connection: 'close' });
      res.end(Buffer.concat(Array(8).fill(BODY)));
    } else if (path === '/silent') {
      // Never answers (a relay sender that a firewall hides looks the same): the idle timeout ends it.
    } else if (path === '/chunked') {
      res.writeHead(200); // no Content-Length: counted as it arrives
      res.write(BODY);
      res.end(BODY);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('etcdFetch', () => {
  let dir: string;
  let cacheDir: string;
  let server: Server;
  let base: string;
  const hits: string[] = [];
  let fetchEtcd: ReturnType<typeof makeEtcdFetch>;
  const NAME = 'etcd-v3.5.17-linux-amd64.tar.gz';
  const tarball = (sha256 = SHA) => join(cacheDir, cacheFileName(NAME, sha256));
  const call = (url: string, extra: Record<string, unknown> = {}) =>
    fetchEtcd({ url: `${base}${url}`, tarball: tarball(), sha256: SHA, allowHttp: true, ...extra }, ctx);
  /** Rejects with an AgentError of `code` whose message matches `pattern`, leaving nothing in the cache. */
  const refused = async (promise: Promise<unknown>, code: string, pattern: RegExp) => {
    await assert.rejects(promise, (err: Error & { code?: string }) => {
      assert.equal(err.code, code, err.message);
      assert.match(err.message, pattern);
      return true;
    });
    assert.deepEqual(existsSync(cacheDir) ? readdirSync(cacheDir) : [], []);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-fetch-'));
    const layout = layoutUnder(dir);
    cacheDir = layout.uploadCacheDir;
    fetchEtcd = makeEtcdFetch(layout, { maxRedirects: 3, timeoutMs: 30_000 });
    server = await startServer(hits);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('plain http only when the request allows it: nothing is asked of the server otherwise', async () => {
    const before = hits.length;
    await refused(call('/ok', { allowHttp: false }), 'E_AGENT_DOWNLOAD', /plain http/);
    await refused(
      fetchEtcd({ url: 'ftp://127.0.0.1/x', tarball: tarball(), sha256: SHA }, ctx),
      'E_AGENT_DOWNLOAD',
      /not http\(s\)/,
    );
    assert.equal(hits.length, before);
  });

  test('a URL with credentials, or a tarball outside the cache, is refused', async () => {
    await refused(call('/ok', { url: 'http://u:p@127.0.0.1/ok' }), 'E_AGENT_BAD_REQUEST', /user or password/);
    await refused(call('/ok', { tarball: join(dir, 'elsewhere.tar.gz') }), 'E_AGENT_REFUSED', /only from/);
  });

  test('a tarball not named by the sha256 asked is refused: nothing is asked of the server', async () => {
    const before = hits.length;
    for (const name of [NAME, cacheFileName(NAME, 'ab'.repeat(32)), `.${SHA.slice(0, 16)}.tar.gz`]) {
      await refused(
        call('/ok', { tarball: join(cacheDir, name) }),
        'E_AGENT_REFUSED',
        /^etcd install takes only a tarball named by its content/,
      );
    }
    assert.equal(hits.length, before);
  });

  test('HTTP errors, too many redirects, a redirect out of http(s), a body over the cap', async () => {
    await refused(call('/nope'), 'E_AGENT_DOWNLOAD', /HTTP 404 from http:\/\/127\.0\.0\.1:\d+\/nope/);
    await refused(call('/loop'), 'E_AGENT_DOWNLOAD', /more than 3 redirects/);
    await refused(call('/r/4'), 'E_AGENT_DOWNLOAD', /more than 3 redirects/);
    // A relay from another host: none followed.
    await refused(call('/r/1', { maxRedirects: 0 }), 'E_AGENT_DOWNLOAD', /more than 0 redirects/);
    await refused(call('/ftp'), 'E_AGENT_DOWNLOAD', /refused the redirect .* ftp:/);
    await refused(call('/big', { maxBytes: BODY.length * 2 }), 'E_AGENT_DOWNLOAD', /more than the \d+ taken/);
    await refused(call('/chunked', { maxBytes: BODY.length + 1 }), 'E_AGENT_DOWNLOAD', /sent more than/);
    await refused(call('/cut'), 'E_AGENT_DOWNLOAD', /reading http:.*\/cut|a cut connection/);
  });

  test('a server that closes the connection after the body is read to the end (then held to the sha256)', async () => {
    await refused(call('/close'), 'E_AGENT_SHA256', /sent 152000 bytes/);
  });

  test('idleTimeoutSeconds: a connection silent that long is given up (a relay falls back to a push)', async () => {
    await refused(
      call('/silent', { idleTimeoutSeconds: 1 }),
      'E_AGENT_DOWNLOAD',
      /\/silent: no answer for 1 s/,
    );
  });

  test('a connection refused names the URL and the cause', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await refused(
      fetchEtcd({ url: `http://127.0.0.1:${port}/x`, tarball: tarball(), sha256: SHA, allowHttp: true }, ctx),
      'E_AGENT_DOWNLOAD',
      /ECONNREFUSED/,
    );
  });

  test('other bytes than the sha256 says are refused, and nothing is kept', async () => {
    const other = 'ab'.repeat(32);
    await refused(
      call('/ok', { sha256: other, tarball: tarball(other) }),
      'E_AGENT_SHA256',
      new RegExp(`sha256 ${SHA}`),
    );
  });

  test('redirects are followed (within the limit) and the file lands verified; a second call fetches nothing', async () => {
    const r = await call('/r/3');
    assert.equal(r.fetched, true);
    assert.equal(r.changed, true);
    assert.equal(r.bytes, BODY.length);
    assert.match(
      r.actions[0]!,
      /^download http:\/\/127\.0\.0\.1:\d+\/r\/3 into .* \(\d+ bytes in [\d.]+ s, sha256 verified\)$/,
    );
    assert.deepEqual(readFileSync(tarball()), BODY);
    assert.deepEqual(readdirSync(cacheDir), [`etcd-v3.5.17-linux-amd64.${SHA.slice(0, 16)}.tar.gz`]);
    const before = hits.length;
    const again = await call('/ok');
    assert.deepEqual(again, { changed: false, actions: [], fetched: false, bytes: BODY.length, ms: 0 });
    assert.equal(hits.length, before, 'a cached, verified tarball is not fetched again');
  });

  test('never from https to http, whatever allowHttp says', () => {
    const at = new URL('https://mirror.example/etcd.tar.gz');
    assert.throws(
      () => redirectTarget(at, 'http://other.example/e.tar.gz', true, true),
      /https must not become plain http/,
    );
    assert.equal(redirectTarget(at, '/v2/e.tar.gz', true, false).href, 'https://mirror.example/v2/e.tar.gz');
    const plain = new URL('http://mirror.internal/e.tar.gz');
    assert.throws(() => redirectTarget(plain, 'http://x/e', false, false), /plain http/);
    assert.equal(redirectTarget(plain, 'https://x/e', false, false).href, 'https://x/e');
  });
});

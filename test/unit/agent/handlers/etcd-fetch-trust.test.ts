/**
 * etcd.fetch: host through an internal mirror: https trusts the host's own trust store (a private
 * CA installed there), and etcd.fetchProxy sends the download through a proxy (plain GET for http,
 * CONNECT for https).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeEtcdFetch } from '../../../../agent/handlers/etcd-fetch.ts';
import { layoutUnder } from '../../../../agent/policy/layout.ts';

const ctx = { buildId: 'test' };
const BODY = Buffer.from('mirrored etcd tarball '.repeat(500));
const SHA = createHash('sha256').update(BODY).digest('hex');
const HANDLER = join(import.meta.dirname, '../../../../agent/handlers/etcd-fetch.ts');
const LAYOUT = join(import.meta.dirname, '../../../../agent/policy/layout.ts');

/** A private CA and a server certificate for 127.0.0.1 it signed, made with openssl. */
function privateCa(dir: string): { caFile: string; key: Buffer; cert: Buffer } {
  const run = (args: string) => execFileSync('openssl', args.split(' '), { cwd: dir, stdio: 'pipe' });
  const key = '-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes';
  run(`req -x509 ${key} -keyout ca.key -out ca.pem -subj /CN=mirror-CA -days 2`);
  run(`req ${key} -keyout srv.key -out srv.csr -subj /CN=mirror`);
  writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
  run('x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 2 -extfile ext');
  return {
    caFile: join(dir, 'ca.pem'),
    key: readFileSync(join(dir, 'srv.key')),
    cert: readFileSync(join(dir, 'srv.pem')),
  };
}

/** A forward proxy: absolute-URL GETs and CONNECT tunnels, each recorded. */
function startProxy(seen: string[]): Promise<Server> {
  const proxy = createHttpServer((req, res) => {
    seen.push(`GET ${req.url}`);
    const up = httpRequest(req.url ?? '', { method: 'GET' }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    up.on('error', () => res.destroy());
    up.end();
  });
  proxy.on('connect', (req, socket, head) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = (req.url ?? '').split(':');
    const up = connect(Number(port), host ?? '', () => {
      socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
      up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve(proxy)));
}

const listen = (server: Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(String((server.address() as AddressInfo).port))),
  );

describe('etcdFetch from an internal mirror', () => {
  let dir: string;
  let https: Server;
  let plain: Server;
  let proxy: Server;
  let ca: ReturnType<typeof privateCa>;
  const seen: string[] = [];
  const serve = (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-length': BODY.length });
    res.end(BODY);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-fetch-trust-'));
    ca = privateCa(dir);
    https = createHttpsServer({ key: ca.key, cert: ca.cert }, serve);
    plain = createHttpServer(serve);
    proxy = await startProxy(seen);
    await Promise.all([listen(https), listen(plain)]);
  });
  after(() => {
    for (const s of [https, plain, proxy]) s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const port = (s: Server) => (s.address() as AddressInfo).port;

  /** The fetch in a fresh agent process whose trust store is `caFile` alone (SSL_CERT_FILE, as OpenSSL reads it). */
  function fetchInProcess(
    caFile: string,
    url: string,
    proxyUrl?: string,
  ): Promise<{ code: number; out: string }> {
    const cache = join(dir, `cache-${Math.random().toString(16).slice(2)}`);
    const emptyDir = join(dir, 'no-certs');
    mkdirSync(emptyDir, { recursive: true });
    const script = `
      import { makeEtcdFetch } from ${JSON.stringify(HANDLER)};
      import { layoutUnder } from ${JSON.stringify(LAYOUT)};
      const layout = layoutUnder(${JSON.stringify(cache)});
      const fetchEtcd = makeEtcdFetch(layout, { maxRedirects: 2, timeoutMs: 20000 });
      try {
        const r = await fetchEtcd({ url: ${JSON.stringify(url)}, tarball: layout.uploadCacheDir + '/etcd-v3.5.17-linux-amd64.${SHA.slice(0, 16)}.tar.gz', sha256: ${JSON.stringify(SHA)}${proxyUrl ? `, proxy: ${JSON.stringify(proxyUrl)}` : ''} }, { buildId: 'test' });
        console.log('fetched ' + r.bytes);
      } catch (err) { console.log(err.code + ': ' + err.message); process.exitCode = 3; }`;
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, SSL_CERT_FILE: caFile, SSL_CERT_DIR: emptyDir },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d;
      });
      child.on('close', (code) => resolve({ code: code ?? -1, out: out.trim() }));
    });
  }

  test("https from a mirror whose CA is in the host's trust store: downloaded and verified", async () => {
    const r = await fetchInProcess(ca.caFile, `https://127.0.0.1:${port(https)}/etcd.tar.gz`);
    assert.equal(r.out, `fetched ${BODY.length}`);
    assert.equal(r.code, 0);
  });

  test('the same mirror with its CA not in the trust store: refused, naming the certificate', async () => {
    const r = await fetchInProcess(join(dir, 'absent.pem'), `https://127.0.0.1:${port(https)}/etcd.tar.gz`);
    assert.equal(r.code, 3);
    assert.match(
      r.out,
      /^E_AGENT_DOWNLOAD: GET https:\/\/127\.0\.0\.1:\d+\/etcd\.tar\.gz: .*(certificate|issuer)/i,
    );
  });

  test('etcd.fetchProxy: plain http goes to the proxy as an absolute-URL GET', async () => {
    const fetchEtcd = makeEtcdFetch(layoutUnder(join(dir, 'proxied')), {
      maxRedirects: 2,
      timeoutMs: 20_000,
    });
    const target = `http://127.0.0.1:${port(plain)}/etcd.tar.gz`;
    const r = await fetchEtcd(
      {
        url: target,
        tarball: `${layoutUnder(join(dir, 'proxied')).uploadCacheDir}/etcd-v3.5.17-linux-amd64.${SHA.slice(0, 16)}.tar.gz`,
        sha256: SHA,
        allowHttp: true,
        proxy: `http://127.0.0.1:${port(proxy)}`,
      },
      ctx,
    );
    assert.equal(r.bytes, BODY.length);
    assert.ok(seen.includes(`GET ${target}`), seen.join(', '));
  });

  test('etcd.fetchProxy: https is tunnelled with CONNECT (the mirror still verified against the trust store)', async () => {
    const r = await fetchInProcess(
      ca.caFile,
      `https://127.0.0.1:${port(https)}/etcd.tar.gz`,
      `http://127.0.0.1:${port(proxy)}`,
    );
    assert.equal(r.out, `fetched ${BODY.length}`);
    assert.ok(seen.includes(`CONNECT 127.0.0.1:${port(https)}`), seen.join(', '));
  });

  test('a proxy that is not there: the error names it', async () => {
    const closed = createHttpServer();
    const p = await listen(closed);
    closed.close();
    const fetchEtcd = makeEtcdFetch(layoutUnder(join(dir, 'noproxy')), {
      maxRedirects: 2,
      timeoutMs: 20_000,
    });
    await assert.rejects(
      fetchEtcd(
        {
          url: `http://127.0.0.1:${port(plain)}/etcd.tar.gz`,
          tarball: `${layoutUnder(join(dir, 'noproxy')).uploadCacheDir}/etcd-v3.5.17-linux-amd64.${SHA.slice(0, 16)}.tar.gz`,
          sha256: SHA,
          allowHttp: true,
          proxy: `http://127.0.0.1:${p}`,
        },
        ctx,
      ),
      new RegExp(`through the proxy http://127\\.0\\.0\\.1:${p}: .*ECONNREFUSED`),
    );
  });
});

describe("the controller's own downloads (fetch: controller)", () => {
  test("bin/tskv runs Node with --use-system-ca: a mirror whose CA is in this machine's store is trusted", async () => {
    const script = readFileSync(join(import.meta.dirname, '../../../../bin/tskv'), 'utf8');
    const execs = script.split('\n').filter((l) => /^\s*exec "\$node"/.test(l));
    assert.equal(execs.length, 2);
    for (const line of execs) assert.match(line, /exec "\$node" --use-system-ca /);
    const dir = mkdtempSync(join(tmpdir(), 'tskv-ctl-trust-'));
    const ca = privateCa(dir);
    const server = createHttpsServer({ key: ca.key, cert: ca.cert }, (_req, res) => res.end(BODY));
    const port = await listen(server);
    mkdirSync(join(dir, 'no-certs'));
    const tarball = join(import.meta.dirname, '../../../../controller/artifacts/etcd-tarball.ts');
    const run = (flags: string[]) =>
      new Promise<string>((resolve) => {
        const code = `
          import { resolveEtcdTarball } from ${JSON.stringify(tarball)};
          try {
            const a = await resolveEtcdTarball({ version: '3.5.17', source: 'https://127.0.0.1:${port}/etcd-v3.5.17-linux-amd64.tar.gz', sha256: ${JSON.stringify(SHA)}, fetch: 'controller', flags: {} }, ${JSON.stringify(join(dir, 'cache'))} + Math.random());
            console.log('got ' + a.size);
          } catch (err) { console.log('failed'); }`;
        const child = spawn(process.execPath, [...flags, '--input-type=module', '-e', code], {
          env: { ...process.env, SSL_CERT_FILE: ca.caFile, SSL_CERT_DIR: join(dir, 'no-certs') },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d;
        });
        child.on('close', () => resolve(out.trim()));
      });
    try {
      assert.equal(await run(['--use-system-ca']), `got ${BODY.length}`);
      assert.equal(await run([]), 'failed', 'without the flag Node trusts only its own roots');
    } finally {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

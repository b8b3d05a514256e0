/**
 * The start script fetching a relayed runtime (`runtime relay URL`), run by sh on this machine:
 * it lands only with the build's size and sha256; a failed relay says why and waits for the
 * runtime on the channel again (the controller then pushes it).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { residentPaths } from '../../../../controller/agent-client/resident.ts';
import { startScript } from '../../../../controller/agent-client/start-script.ts';
import { LocalConnection } from './local-connection.ts';

const root = mkdtempSync(join(tmpdir(), 'tskv-start-relay-'));
const RUNTIME = Buffer.from('a runtime '.repeat(1000));
const SHA = createHash('sha256').update(RUNTIME).digest('hex');

function run(dir: string, stdin: string, sha256 = SHA) {
  const script = startScript({
    runtime: { path: `${dir}/node-0123456789abcdef`, size: RUNTIME.length, sha256 },
    code: { path: `${dir}/tskv-agent-fedcba9876543210`, size: 3, sha256: 'b'.repeat(64) },
    resident: residentPaths(join(root, 'run'), 'fedcba9876543210', 'tester'),
    idleTimeoutS: 60,
  });
  return new LocalConnection().exec(script, { stdin });
}

const lines = (out: string) =>
  out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the start script with a relayed runtime', () => {
  let server: Server;
  let url: string;
  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/elsewhere') return void res.writeHead(302, { location: '/tok' }).end();
      if (req.url === '/big') {
        return void res
          .writeHead(200, { 'content-length': 10 * RUNTIME.length })
          .end(Buffer.concat(Array(10).fill(RUNTIME)));
      }
      if (req.url !== '/tok') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': RUNTIME.length }).end(RUNTIME);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('fetches, checks and installs the runtime, then reads the next header', async () => {
    const dir = join(root, 'ok');
    const r = await run(dir, `runtime relay ${url}/tok\nskip\n`);
    assert.equal(r.code, 0, r.stderr);
    const [missing, relayed] = lines(r.stdout);
    assert.equal(missing!['canFetch'], true);
    assert.deepEqual(relayed, { relayed: true });
    const st = statSync(join(dir, 'node-0123456789abcdef'));
    assert.equal(st.size, RUNTIME.length);
    assert.equal(st.mode & 0o777, 0o755);
  });

  test('a runtime of another sha256 is not kept: the script says why and waits for the runtime again', async () => {
    const dir = join(root, 'bad-sha');
    const r = await run(dir, `runtime relay ${url}/tok\nskip\n`, 'c'.repeat(64));
    assert.equal(r.code, 0, r.stderr);
    const [, failed] = lines(r.stdout);
    assert.match(String(failed!['relayFailed']), new RegExp(`sha256 ${SHA}, expected c{64}`));
    assert.equal(existsSync(join(dir, 'node-0123456789abcdef')), false);
    assert.deepEqual(readdirSync(dir), [], 'no temporary file left');
  });

  test('a sender is not followed elsewhere, nor read past the size asked for: nothing kept', async () => {
    const dir = join(root, 'hostile');
    const r = await run(dir, `runtime relay ${url}/elsewhere\nruntime relay ${url}/big\nskip\n`);
    assert.equal(r.code, 0, r.stderr);
    const [, redirected, big] = lines(r.stdout);
    assert.match(String(redirected!['relayFailed']), /got 0 bytes, expected 10000/);
    assert.match(String(big!['relayFailed']), /^curl: .*(maximum file size|Maximum file size)/i);
    assert.deepEqual(readdirSync(dir), [], 'no temporary file left');
  });

  test('an unreachable or refusing sender: the reason, then a second relay header is taken', async () => {
    const dir = join(root, 'refused');
    const r = await run(dir, `runtime relay ${url}/nope\nruntime relay ${url}/tok\nskip\n`);
    assert.equal(r.code, 0, r.stderr);
    const [, failed, relayed] = lines(r.stdout);
    assert.match(String(failed!['relayFailed']), /^curl: .*404/);
    assert.deepEqual(relayed, { relayed: true });
  });
});

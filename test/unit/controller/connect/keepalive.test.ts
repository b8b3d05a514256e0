/**
 * Keepalive on a slow link, against a real ssh2 server in this process that never answers pings
 * (as when a reply waits behind an upload) but keeps sending data for a while, then goes silent.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import { countIncomingAsAlive } from '../../../../controller/connect/keepalive.ts';

const INTERVAL_MS = 200;
const COUNT_MAX = 3;
const FLOWING_MS = 2000;
const CHUNK_EVERY_MS = 40;

describe('keepalive: bytes from the host count as replies', () => {
  let server: ssh2.Server;
  let port: number;

  before(async () => {
    const hostKey = ssh2.utils.generateKeyPairSync('ed25519').private;
    server = new ssh2.Server({ hostKeys: [hostKey] }, (conn) => {
      // Pings are never answered: the reply is "queued" for good.
      (conn as unknown as { _protocol: { requestFailure(): void } })._protocol.requestFailure = () =>
        undefined;
      conn.on('error', () => undefined);
      conn.on('authentication', (ctx) => ctx.accept());
      conn.on('ready', () => {
        conn.on('session', (accept) => {
          accept().on('exec', (acceptExec) => {
            const stream = acceptExec();
            stream.on('error', () => undefined);
            // Data for FLOWING_MS, then nothing (the channel stays open).
            const timer = setInterval(() => stream.write(Buffer.alloc(1024, 1)), CHUNK_EVERY_MS);
            setTimeout(() => clearInterval(timer), FLOWING_MS);
            stream.on('close', () => clearInterval(timer));
          });
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  /** Connects, starts the stream, and resolves with how long after the start the connection was declared lost. */
  function lostAfter(countIncoming: boolean): Promise<{ ms: number; message: string }> {
    const client = new ssh2.Client();
    return new Promise((resolve, reject) => {
      let started = 0;
      client.on('error', (err) => {
        client.destroy();
        if (started === 0) reject(err);
        else resolve({ ms: performance.now() - started, message: err.message });
      });
      client.on('ready', () => {
        if (countIncoming) assert.equal(countIncomingAsAlive(client, INTERVAL_MS), true);
        started = performance.now();
        client.exec('stream', (err, ch) => {
          if (err) return reject(err);
          ch.resume();
          ch.on('error', () => undefined);
        });
      });
      client.connect({
        host: '127.0.0.1',
        port,
        username: 'u',
        hostVerifier: () => true,
        keepaliveInterval: INTERVAL_MS,
        keepaliveCountMax: COUNT_MAX,
      });
    });
  }

  test('ssh2 alone declares a connection lost while data still flows (the bug)', async () => {
    const lost = await lostAfter(false);
    assert.equal(lost.message, 'Keepalive timeout');
    assert.ok(lost.ms < FLOWING_MS, `lost after ${lost.ms} ms, while data flowed`);
  });

  test('counting incoming bytes: alive while data flows, lost within (count + 1) intervals once it stops', async () => {
    const lost = await lostAfter(true);
    assert.equal(lost.message, 'Keepalive timeout');
    assert.ok(lost.ms >= FLOWING_MS, `lost after ${lost.ms} ms, while data flowed`);
    const limit = FLOWING_MS + (COUNT_MAX + 1) * INTERVAL_MS + 1000; // slack for a loaded machine
    assert.ok(lost.ms <= limit, `lost after ${lost.ms} ms: the silence went unnoticed too long`);
  });
});

/** The SSH transport against a real OpenSSH server on 127.0.0.1 (test/fixtures/loopback-sshd.ts). */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConnectionPool, connect, type HostConnection } from '../../controller/connect/index.ts';
import { expectTskvError } from '../fixtures/expect-tskv-error.ts';
import { LoopbackSshd, loopbackSshdUnavailable } from '../fixtures/loopback-sshd.ts';
import { until } from '../fixtures/wait.ts';

const skip = loopbackSshdUnavailable();
const PROXY = fileURLToPath(new URL('./stdio-tcp-proxy.ts', import.meta.url));

function fingerprintOf(pubFile: string): string {
  return execFileSync('ssh-keygen', ['-lf', pubFile], { encoding: 'utf8' }).split(' ')[1] ?? '';
}

function listen(server: Server, where: string | number): Promise<void> {
  return new Promise((resolve) => server.listen(where as number, '127.0.0.1', resolve));
}

/** A server that can be shut down with its open connections (server.close() alone waits for them). */
function closableServer(onConnection: (s: Socket) => void): { server: Server; shutdown(): void } {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    onConnection(s);
  });
  return {
    server,
    shutdown() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

describe('SSH transport on a loopback sshd', { skip, timeout: 60_000 }, () => {
  let sshd: LoopbackSshd;
  let conn: HostConnection;

  before(async () => {
    sshd = await LoopbackSshd.start();
    sshd.trustHostKey();
    conn = await connect(sshd.hostSpec());
  });
  after(async () => {
    conn?.close();
    await sshd?.cleanup();
  });

  test('exec: output, exit code, stdin, timeout', async () => {
    assert.deepEqual(await conn.exec('echo out; echo err >&2; exit 3'), {
      code: 3,
      stdout: 'out\n',
      stderr: 'err\n',
    });
    assert.equal((await conn.exec('wc -c', { stdin: 'hello' })).stdout.trim(), '5');
    const started = Date.now();
    const err = await expectTskvError(conn.exec('sleep 120', { timeoutMs: 200, step: 'nap' }));
    assert.equal(err.code, 'E_SSH_TIMEOUT');
    assert.equal(err.step, 'nap');
    // On the timeout, long before the command would have ended.
    assert.ok(Date.now() - started < 50_000);
  });

  test('more concurrent commands than MaxSessions are queued, not refused', async () => {
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) => conn.exec(`sleep 0.1; echo ${i}`)),
    );
    assert.deepEqual(
      results.map((r) => r.stdout.trim()),
      results.map((_, i) => String(i)),
    );
  });

  test('forwarded streams take no session: twenty held open, commands still run and more streams open', async () => {
    const server = closableServer((s) => s.pipe(s));
    await listen(server.server, 0);
    const port = (server.server.address() as { port: number }).port;
    const held: Awaited<ReturnType<HostConnection['openTcp']>>[] = [];
    try {
      // Like idle keep-alive connections to the agent and etcd: far more than MaxSessions (10).
      for (let i = 0; i < 20; i++) held.push(await conn.openTcp('127.0.0.1', port));
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => conn.exec(`echo ${i}`)));
      assert.deepEqual(
        results.map((r) => r.stdout.trim()),
        results.map((_, i) => String(i)),
      );
      const last = held.at(-1)!;
      const reply = new Promise<string>((resolve) => last.once('data', (d: Buffer) => resolve(d.toString())));
      last.write('still there');
      assert.equal(await reply, 'still there');
    } finally {
      for (const s of held) s.destroy();
      server.shutdown();
    }
  });

  test('spawn: a long-running process with stdio streams', async () => {
    const proc = await conn.spawn('cat; exit 7');
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.stdin.end('ping\n');
    assert.equal(await proc.exited, 7);
    assert.equal(out, 'ping\n');
    const sleeper = await conn.spawn('sleep 30');
    sleeper.kill();
    await sleeper.exited;
  });

  test('upload: Buffer and stream, verified by sha256, mode set, no temp file left', async () => {
    const dir = join(sshd.dir, 'up', 'nested');
    const data = randomBytes(3 * 1024 * 1024 + 17);
    await conn.upload(data, join(dir, 'bin'), { mode: 0o750 });
    assert.ok(readFileSync(join(dir, 'bin')).equals(data));
    assert.equal(statSync(join(dir, 'bin')).mode & 0o777, 0o750);
    const sha256 = createHash('sha256').update('streamed').digest('hex');
    await conn.upload(Readable.from([Buffer.from('stream'), Buffer.from('ed')]), join(dir, 's'), { sha256 });
    assert.equal(readFileSync(join(dir, 's'), 'utf8'), 'streamed');
    const err = await expectTskvError(
      conn.upload(Buffer.from('x'), join(dir, 'bad'), { sha256: '0'.repeat(64) }),
    );
    assert.equal(err.code, 'E_UPLOAD');
    assert.match(err.message, /sha256 mismatch/);
    assert.ok(!existsSync(join(dir, 'bad')));
    assert.equal((await conn.exec(`ls ${dir}`)).stdout.split('\n').filter(Boolean).sort().join(' '), 'bin s');
  });

  test('openUnixSocket and openTcp reach servers on the host', async () => {
    const echo = () => closableServer((s) => s.pipe(s));
    const unixServer = echo();
    const path = join(sshd.dir, 'echo.sock');
    await new Promise<void>((resolve) => unixServer.server.listen(path, resolve));
    const tcpServer = echo();
    await listen(tcpServer.server, 0);
    const port = (tcpServer.server.address() as { port: number }).port;
    try {
      for (const stream of [await conn.openUnixSocket(path), await conn.openTcp('127.0.0.1', port)]) {
        const reply = new Promise<string>((resolve) =>
          stream.once('data', (d: Buffer) => resolve(d.toString())),
        );
        stream.write('hello');
        assert.equal(await reply, 'hello');
        stream.end();
      }
      const err = await expectTskvError(conn.openUnixSocket(join(sshd.dir, 'missing.sock')));
      assert.equal(err.code, 'E_SSH_CHANNEL');
    } finally {
      unixServer.shutdown();
      tcpServer.shutdown();
    }
  });

  test('ProxyCommand carries the connection; its stderr is in the error when it fails or drops', async () => {
    const proxied = await connect(sshd.hostSpec({ proxyCommand: `${process.execPath} ${PROXY} %h %p` }));
    assert.equal((await proxied.exec('echo via-proxy')).stdout, 'via-proxy\n');
    proxied.close();
    const err = await expectTskvError(
      connect(sshd.hostSpec({ proxyCommand: 'echo no route to %h >&2; exit 1' })),
    );
    assert.match(err.message, /no route to 127\.0\.0\.1/);

    const dying = await connect(
      sshd.hostSpec({ proxyCommand: `${process.execPath} ${PROXY} %h %p; echo proxy gave up >&2; exit 3` }),
    );
    const running = dying.exec('sleep 30', { step: 'proxied sleep' });
    await until('the proxied command to run', () => sshd.runs('sleep 30'));
    sshd.signalSessions('SIGKILL');
    const lost = await expectTskvError(running);
    assert.equal(lost.code, 'E_SSH_LOST');
    assert.equal(lost.step, 'proxied sleep');
    // The proxy's stderr, whole: its own "proxy: read ECONNRESET" line comes first when the killed
    // session resets the socket rather than closing it.
    assert.match(lost.message, /connection lost .*proxy command.*proxy gave up/s);
  });

  test('ssh-agent authentication without a key file', async () => {
    const sock = join(sshd.dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      await until('ssh-agent to listen', () => existsSync(sock));
      execFileSync('ssh-add', [sshd.clientKey], { env: { SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const viaAgent = await connect(sshd.hostSpec({ identityFile: undefined }), {
        env: { SSH_AUTH_SOCK: sock },
      });
      assert.equal((await viaAgent.exec('echo agent')).stdout, 'agent\n');
      viaAgent.close();
    } finally {
      agent.kill();
    }
  });

  test('credential failures are clear', async () => {
    const encrypted = join(sshd.dir, 'enc_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', encrypted]);
    const enc = await expectTskvError(connect(sshd.hostSpec({ identityFile: encrypted }), { env: {} }));
    assert.equal(enc.code, 'E_SSH_KEY');
    assert.match(enc.message, /encrypted with a passphrase/);
    const stranger = join(sshd.dir, 'stranger_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const refused = await expectTskvError(connect(sshd.hostSpec({ identityFile: stranger }), { env: {} }));
    assert.equal(refused.code, 'E_SSH_AUTH');
    assert.match(refused.message, /refused user root/);
  });

  test('host keys: strict unknown, accept-new records, changed key names both fingerprints', async () => {
    const knownHosts = join(sshd.dir, 'kh-test');
    rmSync(knownHosts, { force: true });
    const fp = fingerprintOf(`${sshd.hostKey}.pub`);
    const unknown = await expectTskvError(connect(sshd.hostSpec({ knownHosts })));
    assert.equal(unknown.code, 'E_HOST_KEY_UNKNOWN');
    assert.ok(unknown.message.includes(fp));
    const recorded: string[] = [];
    const pool = new ConnectionPool({ onHostKeyRecorded: (info) => recorded.push(info.fingerprint) });
    const spec = sshd.hostSpec({ knownHosts, hostKeyPolicy: 'accept-new' });
    const outcomes = await pool.connectAll([spec, { ...spec, name: 'loop2' }]);
    assert.deepEqual(
      outcomes.map((o) => o.error),
      [undefined, undefined],
    );
    assert.equal(await pool.get(spec), outcomes[0]?.connection);
    pool.closeAll();
    assert.deepEqual(recorded, [fp]);
    (await connect(sshd.hostSpec({ knownHosts }))).close();

    sshd.regenerateHostKey();
    await sshd.restart();
    const changed = await expectTskvError(
      connect(sshd.hostSpec({ knownHosts, hostKeyPolicy: 'accept-new' })),
    );
    assert.equal(changed.code, 'E_HOST_KEY_CHANGED');
    assert.ok(changed.message.includes(fp), 'names the known fingerprint');
    assert.ok(
      changed.message.includes(fingerprintOf(`${sshd.hostKey}.pub`)),
      'names the presented fingerprint',
    );
    sshd.trustHostKey();
  });

  test('a dropped connection fails the running command fast, naming host and step', async () => {
    conn.close();
    // Keepalives would notice only after 3 minutes: within the limit below, only the closed connection can tell.
    const dropped = await connect(sshd.hostSpec(), { keepaliveIntervalMs: 60_000 });
    const running = dropped.exec('sleep 31', { step: 'long sleep' });
    await until('the command to run', () => sshd.runs('sleep 31'));
    const started = Date.now();
    sshd.signalSessions('SIGKILL');
    const err = await expectTskvError(running);
    assert.equal(err.code, 'E_SSH_LOST');
    assert.equal(err.host, 'loop1');
    assert.equal(err.step, 'long sleep');
    assert.match(err.message, /connection lost/);
    assert.ok(Date.now() - started < 30_000);
    const next = await expectTskvError(dropped.exec('true', { step: 'after' }));
    assert.equal(next.step, 'after');
    conn = await connect(sshd.hostSpec());
  });

  test('a frozen peer is detected by keepalives, not waited on forever', async () => {
    const frozen = await connect(sshd.hostSpec(), { keepaliveIntervalMs: 300 });
    const running = frozen.exec('sleep 32', { step: 'frozen sleep' });
    await until('the command to run', () => sshd.runs('sleep 32'));
    assert.ok(sshd.sessionPids().length > 0);
    sshd.signalSessions('SIGSTOP');
    try {
      const err = await expectTskvError(running);
      assert.equal(err.code, 'E_SSH_LOST');
      assert.match(err.message, /Keepalive timeout/);
    } finally {
      sshd.signalSessions('SIGCONT');
      frozen.close();
    }
  });

  test('unreachable and silent servers fail within the connect timeout', async () => {
    const silent = closableServer(() => undefined);
    await listen(silent.server, 0);
    const port = (silent.server.address() as { port: number }).port;
    try {
      const baseline = Date.now();
      (await connect(sshd.hostSpec())).close();
      const connectMs = Date.now() - baseline;
      const started = Date.now();
      const timeout = await expectTskvError(connect(sshd.hostSpec({ port, connectTimeoutMs: 500 })));
      assert.equal(timeout.code, 'E_SSH_TIMEOUT');
      // The 500 ms, plus 20 times what a whole connect takes here: far below ssh2's default of 20 s
      // (were the setting not passed on) while a connect takes under a second.
      const took = Date.now() - started;
      assert.ok(took < 500 + 20 * connectMs, `${took} ms (a connect takes ${connectMs} ms)`);
    } finally {
      silent.shutdown();
    }
    await sshd.stop();
    const refused = await expectTskvError(connect(sshd.hostSpec()));
    assert.equal(refused.code, 'E_SSH_UNREACHABLE');
    assert.match(refused.message, /ECONNREFUSED/);
    await sshd.restart();
  });
});

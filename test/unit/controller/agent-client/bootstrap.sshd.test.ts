/**
 * ensureAgent through the real SSH transport (a throwaway sshd on 127.0.0.1): the agent executable
 * is pushed over SSH into the start script's channel, started on that same channel (which then
 * ends: the agent stays resident), and reached by undici over streamlocal forwarding.
 * Skipped (with the reason) where the fixture cannot run (not root, no sshd).
 */
import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AgentManifest, routes } from '../../../../agent/api/index.ts';
import { processAlive } from '../../../../agent/system/proc-stat.ts';
import { ensureAgent } from '../../../../controller/agent-client/bootstrap.ts';
import { connect, type HostConnection } from '../../../../controller/connect/index.ts';
import { TskvError } from '../../../../controller/errors.ts';
import { buildAgent, DIST } from '../../../fixtures/built-agent.ts';
import { LoopbackSshd, loopbackSshdUnavailable } from '../../../fixtures/loopback-sshd.ts';
import { until } from '../../../fixtures/wait.ts';

const skip = loopbackSshdUnavailable();

/** The connection, with every command it is asked to run or upload recorded, and the spawned ones' exits. */
function recording(conn: HostConnection): {
  conn: HostConnection;
  calls: string[];
  exits: Promise<number | null>[];
} {
  const calls: string[] = [];
  const exits: Promise<number | null>[] = [];
  return {
    calls,
    exits,
    conn: {
      host: conn.host,
      get viaSudo() {
        return conn.viaSudo;
      },
      exec: (command, options) => {
        calls.push(`exec ${command}`);
        return conn.exec(command, options);
      },
      spawn: async (command, options) => {
        calls.push(`spawn ${command.split('\n')[0]}`);
        const proc = await conn.spawn(command, options);
        exits.push(proc.exited);
        return proc;
      },
      upload: (data, path, options) => {
        calls.push(`upload ${path}`);
        return conn.upload(data, path, options);
      },
      openUnixSocket: (path) => conn.openUnixSocket(path),
      openTcp: (host, port) => conn.openTcp(host, port),
      close: () => conn.close(),
    },
  };
}

describe('ensureAgent over SSH (loopback sshd)', { skip }, () => {
  let sshd: LoopbackSshd;
  let conn: HostConnection;
  let manifest: AgentManifest;
  let root: string;

  before(async () => {
    manifest = buildAgent();
    root = mkdtempSync(join(tmpdir(), 'tskv-agent-ssh-'));
    sshd = await LoopbackSshd.start();
    sshd.trustHostKey();
    conn = await connect(sshd.hostSpec());
  });
  after(async () => {
    conn?.close();
    await sshd?.cleanup();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('pushes once on one channel, serves over the forwarded socket, and stays for the next run', async () => {
    const options = {
      sshUser: 'root',
      manifest,
      distDir: DIST,
      installDir: join(root, 'agent'),
      runDir: join(root, 'run'),
      idleTimeoutS: 60,
    };
    const rec = recording(conn);
    const first = await ensureAgent(rec.conn, options);
    try {
      assert.equal(first.uploaded, true);
      assert.equal(rec.calls.length, 1, rec.calls.join('\n'));
      assert.match(rec.calls[0]!, /^spawn /);
      let exited = false;
      rec.exits[0]!.then(() => {
        exited = true;
      });
      await until('the start channel to end (the agent holds none of it)', () => exited);
      const sent = Date.now();
      const [v, f, c] = await Promise.all([
        first.client.call(routes.version, {}),
        first.client.call(routes.facts, { dataDir: '/var/lib/etcd' }),
        first.client.call(routes.clock, {}),
      ]);
      const received = Date.now();
      assert.equal(v.buildId, manifest.buildId);
      assert.equal(f.isRoot, true);
      // The agent shares this machine's clock: it read it between the request and the reply.
      assert.ok(c.wallMs >= sent - 5 && c.wallMs <= received + 5, `${c.wallMs} vs [${sent}, ${received}]`);
    } finally {
      await first.close();
    }
    const second = await ensureAgent(rec.conn, options);
    try {
      assert.deepEqual(
        { uploaded: second.uploaded, started: second.started, pid: second.pid, calls: rec.calls.length },
        { uploaded: false, started: false, pid: first.pid, calls: 1 },
      );
      assert.equal((await second.client.call(routes.version, {})).buildId, manifest.buildId);
    } finally {
      await second.close();
    }
    // Taking its socket away makes the idle agent exit (the after() hook relies on it too).
    rmSync(second.socket);
    await until('the agent to exit', () => !processAlive(first.pid));
  });

  test('a payload zstd rejects at once fails fast, leaves nothing, and frees its channel', async () => {
    const packed = readFileSync(join(DIST, manifest.code.compressed.file));
    packed.fill(0, 0, 4); // no zstd magic number: zstd stops after the first bytes, the rest is unread
    const distDir = join(root, 'dist-bad-magic');
    mkdirSync(distDir, { recursive: true });
    writeFileSync(join(distDir, manifest.code.compressed.file), packed);
    symlinkSync(
      join(DIST, manifest.runtime.compressed.file),
      join(distDir, manifest.runtime.compressed.file),
    );
    const installDir = join(root, 'agent-bad');
    const options = {
      sshUser: 'root',
      manifest,
      distDir,
      installDir,
      runDir: join(root, 'run-bad'),
      idleTimeoutS: 60,
    };
    for (let i = 0; i < 10; i++) {
      // More attempts than the connection has channels: a channel left open would block the rest.
      await assert.rejects(ensureAgent(conn, options), (err: unknown) => {
        assert.ok(err instanceof TskvError, String(err));
        assert.equal(err.code, 'E_AGENT_INSTALL');
        assert.equal(err.step, 'agent: unpack');
        assert.match(err.message, /zstd.*unknown header|unsupported format/is);
        return true;
      });
      // The runtime came whole and checked (first try only); the code is refused each time.
      assert.deepEqual(readdirSync(installDir), [manifest.runtime.file]);
    }
    const good = await ensureAgent(conn, { ...options, distDir: DIST });
    try {
      assert.deepEqual(good.sentFiles, ['code']);
      assert.equal((await good.client.call(routes.version, {})).buildId, manifest.buildId);
    } finally {
      await good.close();
    }
  });
});

/**
 * Pushing the agent (its runtime and its code) to a bare lab host on the start script's own
 * channel: what the unit tests cannot show, a full disk on the host, a non-root SSH user going
 * through sudo, a damaged upload, and a new build that sends only its code. Prints the bytes each
 * push sent (the controller counts what it streams).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AgentManifest, routes } from '../../agent/api/index.ts';
import {
  DEFAULT_INSTALL_DIR,
  DEFAULT_RUN_DIR,
  ensureAgent,
} from '../../controller/agent-client/bootstrap.ts';
import { connect, type HostConnection } from '../../controller/connect/index.ts';
import type { HostSpec } from '../../controller/inventory/model.ts';
import { Lab, type LabHost, labUnavailableReason } from '../../lab/lab.ts';
import { buildAgent, otherCodeBuild } from '../fixtures/built-agent.ts';
import { expectTskvError } from '../fixtures/expect-tskv-error.ts';

const NAME = 'apush';
const env = {}; // no ssh-agent: the inventory's key only
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;
const skip = labUnavailableReason();

describe('agent push on a bare lab host', { skip: skip ?? false }, () => {
  let lab: Lab;
  let host: LabHost;
  let spec: HostSpec;
  let manifest: AgentManifest;
  /** Other builds made by the tests. */
  let local: string;

  const installDirListing = async () =>
    (await host.execOk(`mkdir -p ${DEFAULT_INSTALL_DIR} && ls -A ${DEFAULT_INSTALL_DIR}`)).trim();

  async function withConnection<T>(s: HostSpec, work: (conn: HostConnection) => Promise<T>): Promise<T> {
    const conn = await connect(s, { env });
    try {
      return await work(conn);
    } finally {
      conn.close();
    }
  }

  before(async () => {
    manifest = buildAgent();
    local = mkdtempSync(join(tmpdir(), 'tskv-apush-'));
    lab = await Lab.up({ name: NAME, hosts: ['h102'], fresh: true });
    host = lab.host('h102');
    spec = (await lab.inventory()).hosts[0]!;
  });
  after(async () => {
    await Lab.down(NAME);
    rmSync(local, { recursive: true, force: true });
  });

  test('a full disk fails naming host, step and the cause, and leaves no temporary file', async () => {
    await host.execOk(
      `mkdir -p ${DEFAULT_INSTALL_DIR} && mount -t tmpfs -o size=16m tmpfs ${DEFAULT_INSTALL_DIR}`,
    );
    try {
      await withConnection(spec, async (conn) => {
        const err = await expectTskvError(ensureAgent(conn, { sshUser: spec.ssh.user }));
        assert.equal(err.code, 'E_AGENT_INSTALL');
        assert.equal(err.host, 'h102');
        assert.equal(err.step, 'agent: unpack');
        assert.match(err.message, /No space left on device/, err.message);
        assert.match(err.fix ?? '', /df -h \/var\/lib\/tskv\/agent/);
        assert.equal(await installDirListing(), '');
        // The failed push's channel is gone: the same connection still runs commands.
        assert.equal((await conn.exec('echo ok')).stdout, 'ok\n');
      });
    } finally {
      await host.execOk(`umount ${DEFAULT_INSTALL_DIR}`);
    }
  });

  test('a non-root user: pushed and started through sudo, root-owned, its socket theirs and reused', async () => {
    await host.addUser('ops', 'nopasswd');
    const ops = { ...spec, ssh: { ...spec.ssh, user: 'ops' } };
    const first = await withConnection(ops, async (conn) => {
      assert.equal(conn.viaSudo, true);
      const handle = await ensureAgent(conn, { sshUser: 'ops' });
      try {
        console.log(`fresh host: sent ${handle.sentFiles.join(' + ')}: ${mb(handle.sentBytes)}`);
        assert.deepEqual(handle.sentFiles, ['runtime', 'code']);
        assert.equal(handle.sentBytes, manifest.runtime.compressed.size + manifest.code.compressed.size);
        // The agent runs as the runtime on the code.
        const args = await host.execOk(`tr '\\0' ' ' < /proc/${handle.pid}/cmdline`);
        const files = [manifest.runtime.file, manifest.code.file].map((f) => `${DEFAULT_INSTALL_DIR}/${f}`);
        assert.ok(args.startsWith(`${files.join(' ')} serve `), args);
        // Over streamlocal forwarding, which sshd opens as 'ops': the socket was handed to $SUDO_UID.
        const facts = await handle.client.call(routes.facts, { dataDir: '/var/lib/etcd' });
        assert.equal(facts.isRoot, true);
        assert.equal((await handle.client.call(routes.version, {})).buildId, manifest.buildId);
      } finally {
        await handle.close();
      }
      return handle;
    });
    assert.deepEqual((await installDirListing()).split('\n').sort(), [
      manifest.runtime.file,
      'package.json',
      manifest.code.file,
    ]);
    const fileModes = await host.execOk(
      `cd ${DEFAULT_INSTALL_DIR} && stat -c '%n %U %a' ${manifest.runtime.file} ${manifest.code.file}`,
    );
    assert.deepEqual(fileModes.trim().split('\n'), [
      `${manifest.runtime.file} root 755`,
      `${manifest.code.file} root 644`,
    ]);
    const dir = `${DEFAULT_RUN_DIR}/agent-${manifest.buildId}-ops`;
    assert.equal(first.socket, `${dir}/agent.sock`);
    const modes = await host.execOk(`stat -c '%n %U %a' ${DEFAULT_RUN_DIR} ${dir} ${dir}/agent.sock`);
    assert.deepEqual(modes.trim().split('\n'), [
      `${DEFAULT_RUN_DIR} root 711`,
      `${dir} ops 700`,
      `${dir}/agent.sock ops 600`,
    ]);
    assert.equal((await host.execOk(`ps -o user= -p ${first.pid}`)).trim(), 'root');

    // The next command (a new SSH connection) reaches the same agent; root gets an agent of its own.
    await withConnection(ops, async (conn) => {
      const again = await ensureAgent(conn, { sshUser: 'ops' });
      await again.close();
      assert.deepEqual({ started: again.started, pid: again.pid }, { started: false, pid: first.pid });
    });
    await withConnection(spec, async (conn) => {
      const asRoot = await ensureAgent(conn, { sshUser: 'root' });
      await asRoot.close();
      assert.equal(asRoot.started, true);
      assert.notEqual(asRoot.pid, first.pid);
    });
  });

  const listing = async () => (await installDirListing()).split('\n').sort();

  test('a damaged code upload is refused at unpack, naming the host and the cause; the host keeps what it had', async () => {
    const before = await listing();
    const distDir = join(local, 'damaged');
    const other = otherCodeBuild(manifest, distDir, 'damaged');
    const zst = join(distDir, other.code.compressed.file);
    const bytes = readFileSync(zst);
    bytes.fill(0x58, Math.floor(bytes.length / 2), Math.floor(bytes.length / 2) + 8);
    writeFileSync(zst, bytes);
    await withConnection(spec, async (conn) => {
      const err = await expectTskvError(ensureAgent(conn, { sshUser: 'root', manifest: other, distDir }));
      assert.equal(err.code, 'E_AGENT_INSTALL');
      assert.equal(err.host, 'h102');
      assert.equal(err.step, 'agent: unpack');
      assert.match(err.message, /installing the agent \(code zstd, [\d.]+ MB\) failed/);
      assert.match(err.message, /checksum|Corrupted|corruption/i, err.message);
    });
    assert.deepEqual(await listing(), before);
  });

  test('a new build with the same runtime sends only its code (well under 5 MB)', async () => {
    const distDir = join(local, 'next');
    const next = otherCodeBuild(manifest, distDir, 'next');
    const handle = await withConnection(spec, async (conn) => {
      const h = await ensureAgent(conn, { sshUser: 'root', manifest: next, distDir });
      try {
        assert.equal((await h.client.call(routes.version, {})).buildId, next.buildId);
      } finally {
        await h.close();
      }
      return h;
    });
    console.log(`code-only update: sent ${handle.sentFiles.join(' + ')}: ${mb(handle.sentBytes)}`);
    assert.deepEqual(handle.sentFiles, ['code']);
    assert.equal(handle.sentBytes, next.code.compressed.size);
    assert.ok(handle.sentBytes < 5e6);
    // The first build's resident agents still run its code: it stays until they are gone.
    assert.deepEqual(
      await listing(),
      [manifest.runtime.file, 'package.json', manifest.code.file, next.code.file].sort(),
    );
  });
});

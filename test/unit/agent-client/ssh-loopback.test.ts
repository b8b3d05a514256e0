/**
 * ensureAgent through the real SSH transport (a throwaway sshd on 127.0.0.1): the agent executable
 * is pushed over SSH, started over an exec channel, and reached by undici over streamlocal forwarding.
 * Skipped (with the reason) where the fixture cannot run (not root, no sshd).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AgentManifest, routes } from '../../../agent/api/index.ts';
import { ensureAgent } from '../../../controller/agent-client/bootstrap.ts';
import { connect, type HostConnection } from '../../../controller/connect/index.ts';
import { LoopbackSshd, loopbackSshdUnavailable } from '../../fixtures/loopback-sshd.ts';
import { buildAgent, DIST } from '../agent/built-agent.ts';

const skip = loopbackSshdUnavailable();

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
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
    writeFileSync(join(sshd.dir, 'known_hosts'), sshd.knownHostsLine());
    conn = await connect(sshd.hostSpec());
  });
  after(async () => {
    conn?.close();
    await sshd?.cleanup();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('pushes once, serves over the forwarded socket, exits when the channel closes', async () => {
    const options = { manifest, distDir: DIST, installDir: join(root, 'agent'), runDir: join(root, 'run') };
    const first = await ensureAgent(conn, options);
    try {
      assert.equal(first.uploaded, true);
      const [v, f, c] = await Promise.all([
        first.client.call(routes.version, {}),
        first.client.call(routes.facts, { dataDir: '/var/lib/etcd' }),
        first.client.call(routes.clock, {}),
      ]);
      assert.equal(v.buildId, manifest.buildId);
      assert.equal(f.isRoot, true);
      assert.ok(Math.abs(c.wallMs - Date.now()) < 1000);
    } finally {
      await first.close();
    }
    await until('the agent to remove its socket', () => !existsSync(first.socket));

    const second = await ensureAgent(conn, options);
    try {
      assert.equal(second.uploaded, false);
      assert.equal((await second.client.call(routes.version, {})).buildId, manifest.buildId);
    } finally {
      await second.close();
    }
  });
});

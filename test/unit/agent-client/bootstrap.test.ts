import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AgentManifest, routes } from '../../../agent/api/index.ts';
import { ensureAgent } from '../../../controller/agent-client/bootstrap.ts';
import { TskvError } from '../../../controller/errors.ts';
import { buildAgent, DIST } from '../agent/built-agent.ts';
import { LocalConnection } from './local-connection.ts';

describe('ensureAgent (on this machine, through a local HostConnection)', () => {
  let manifest: AgentManifest;
  let root: string;
  let installDir: string;
  let runDir: string;
  before(() => {
    manifest = buildAgent();
    root = mkdtempSync(join(tmpdir(), 'tskv-bootstrap-'));
    installDir = join(root, 'lib/agent');
    runDir = join(root, 'run');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('uploads once, starts the agent, and a second run reuses the binary', async () => {
    const conn = new LocalConnection();
    const first = await ensureAgent(conn, { manifest, distDir: DIST, installDir, runDir });
    try {
      assert.equal(first.uploaded, true);
      assert.deepEqual(conn.uploads, [`${installDir}/.tskv-agent-${manifest.buildId}.zst`]);
      const v = await first.client.call(routes.version, {});
      assert.equal(v.buildId, manifest.buildId);
      assert.equal(statSync(`${installDir}/tskv-agent-${manifest.buildId}`).mode & 0o777, 0o755);
      assert.equal(existsSync(first.socket), true);
    } finally {
      await first.close();
    }
    assert.equal(existsSync(first.socket), false, 'the agent removed its socket when its channel closed');

    const second = await ensureAgent(conn, { manifest, distDir: DIST, installDir, runDir });
    try {
      assert.equal(second.uploaded, false);
      assert.equal(conn.uploads.length, 1);
      assert.equal((await second.client.call(routes.clock, {})).wallMs > 0, true);
    } finally {
      await second.close();
    }
  });

  test('falls back to gzip without zstd and removes older builds', async () => {
    const dir = join(root, 'gz');
    const old = join(dir, 'tskv-agent-0123456789abcdef');
    const conn = new LocalConnection({ binDir: join(root, 'bin-nozstd'), hide: ['zstd'] });
    await conn.exec(`mkdir -p ${dir} && echo old > ${old}`);
    const handle = await ensureAgent(conn, { manifest, distDir: DIST, installDir: dir, runDir });
    await handle.close();
    assert.deepEqual(conn.uploads, [`${dir}/.tskv-agent-${manifest.buildId}.gz`]);
    assert.equal(existsSync(old), false);
    assert.equal(existsSync(`${dir}/.tskv-agent-${manifest.buildId}.gz`), false);
  });

  test('version skew replaces the binary once, then fails clearly', async () => {
    const conn = new LocalConnection();
    const wrong = { ...manifest, buildId: 'ffffffffffffffff' };
    await assert.rejects(
      ensureAgent(conn, { manifest: wrong, distDir: DIST, installDir: join(root, 'skew'), runDir }),
      (err: unknown) =>
        err instanceof TskvError &&
        err.code === 'E_AGENT_VERSION' &&
        err.host === 'local' &&
        err.message.includes(`agent build ${manifest.buildId}, expected ffffffffffffffff`),
    );
    assert.equal(conn.uploads.length, 2);
  });
});

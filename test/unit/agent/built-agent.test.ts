import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { type AgentManifest, agentManifestSchema, routes } from '../../../agent/api/index.ts';
import { buildAgent, builtAgentCommand, DIST } from '../../fixtures/built-agent.ts';
import { startAgent } from './start-agent.ts';

describe('the built agent: the runtime (pinned Node) and the code (its bundle)', () => {
  let manifest: AgentManifest;
  before(() => {
    manifest = buildAgent();
  });

  test('the manifest names both files, each with its packed forms, as they are in dist/agent', () => {
    assert.equal(agentManifestSchema.safeParse(manifest).success, true);
    assert.match(manifest.runtime.file, /^node-[0-9a-f]{16}$/);
    assert.equal(manifest.code.file, `tskv-agent-${manifest.buildId}`);
    for (const f of [manifest.runtime, manifest.code]) {
      assert.equal(statSync(join(DIST, f.file)).size, f.size);
      assert.equal(statSync(join(DIST, f.compressed.file)).size, f.compressed.size);
      assert.equal(statSync(join(DIST, f.fallback.file)).size, f.fallback.size);
    }
    // The runtime is named by its content.
    assert.equal(manifest.runtime.file, `node-${manifest.runtime.sha256.slice(0, 16)}`);
    // What a code-only update costs a host: well under the 5 MB target.
    assert.ok(manifest.code.compressed.size < 1e6, `code zstd ${manifest.code.compressed.size} bytes`);
  });

  test('`runtime code version` prints the build id', () => {
    const [runtime, code] = builtAgentCommand(manifest);
    const out = execFileSync(runtime, [code, 'version'], { encoding: 'utf8', env: {} });
    assert.equal(out.trim(), manifest.buildId);
  });

  test('serves the API with its build id and the pinned Node', async () => {
    const agent = await startAgent(builtAgentCommand(manifest));
    try {
      const v = await agent.client.call(routes.version, {});
      assert.equal(v.buildId, manifest.buildId);
      assert.equal(v.nodeVersion, manifest.nodeVersion);
      const f = await agent.client.call(routes.facts, { dataDir: '/var/lib/etcd' });
      assert.ok(f.hostname.length > 0);
    } finally {
      assert.equal(await agent.stop(), 0);
    }
  });

  test('a second build with unchanged sources keeps the build id and the runtime', () => {
    const again = buildAgent();
    assert.equal(again.buildId, manifest.buildId);
    assert.deepEqual(again.runtime, manifest.runtime);
  });
});

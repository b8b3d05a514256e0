import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { type AgentManifest, routes } from '../../../agent/api/index.ts';
import { buildAgent, DIST } from '../../fixtures/built-agent.ts';
import { startAgent } from './start-agent.ts';

describe('the built agent executable (Node SEA)', () => {
  let manifest: AgentManifest;
  before(() => {
    manifest = buildAgent();
  });

  test('`tskv-agent version` prints the build id', () => {
    const out = execFileSync(join(DIST, manifest.file), ['version'], { encoding: 'utf8', env: {} });
    assert.equal(out.trim(), manifest.buildId);
  });

  test('serves the API with its build id and the pinned Node', async () => {
    const agent = await startAgent(join(DIST, manifest.file));
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

  test('a second build with unchanged sources keeps the build id', () => {
    assert.equal(buildAgent().buildId, manifest.buildId);
  });
});

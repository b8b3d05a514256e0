/** What the controller sends the agent passes the agent's rules (policy/): nothing tskv needs is refused. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { envFileProblem } from '../../../agent/policy/files.ts';
import { parseInventory } from '../../../controller/inventory/load.ts';
import { renderHost } from '../../../controller/render/render.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;

/** The seed inventory with extra etcd flags of every kind a value can take. */
function inventory() {
  const text = readFileSync(join(ROOT, 'inventories/seed.yaml'), 'utf8').replace(
    'version: 3.4.23',
    'version: 3.4.23\n  flags: { enable-v2: true, quota-backend-bytes: 8589934592, log-level: "a \\"quoted\\" $value\\\\" }',
  );
  return parseInventory(text, join(ROOT, 'inventories/seed.yaml'));
}

test('the env file the controller writes holds only ETCD_* settings', () => {
  const inv = inventory();
  for (const host of inv.hosts) {
    for (const state of ['new', 'existing'] as const) {
      const env = renderHost(inv, host.name, 'env', { state });
      assert.match(env, /ETCD_LOG_LEVEL=/);
      assert.equal(envFileProblem(env), undefined, env);
    }
  }
});

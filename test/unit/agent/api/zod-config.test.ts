import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { z } from 'zod';
import '../../../../agent/api/index.ts';

const REPO = join(import.meta.dirname, '../../../..');

test('the agent API (and so the agent and the controller) runs zod without compiling schemas', () => {
  assert.equal(z.config().jitless, true);
});

test('a controller command compiles no zod schema, those made before the agent API included', () => {
  // zod compiles with new Function(): count those while `tskv render` parses an inventory.
  const script = `
    let compiled = 0;
    globalThis.Function = new Proxy(Function, { construct: (t, a) => (compiled++, Reflect.construct(t, a)) });
    process.on('exit', () => console.error('compiled ' + compiled));
    process.argv = [process.argv[0], 'tskv', 'render', ${JSON.stringify(join(REPO, 'inventories/seed.yaml'))}];
    await import(${JSON.stringify(join(REPO, 'controller/cli.ts'))});
  `;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr.trim(), 'compiled 0');
});

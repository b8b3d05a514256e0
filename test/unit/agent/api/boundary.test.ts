/** The agent and the controller share agent/api and nothing else; agent/api imports only zod. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = new URL('../../../../', import.meta.url).pathname;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1] ?? '');
}

test('the controller imports only agent/api from the agent', () => {
  const bad: string[] = [];
  for (const file of tsFiles(join(ROOT, 'controller'))) {
    for (const spec of imports(file).filter((s) => s.startsWith('.'))) {
      const target = relative(ROOT, resolve(file, '..', spec));
      if (target.startsWith('agent/') && !target.startsWith('agent/api/'))
        bad.push(`${relative(ROOT, file)} -> ${target}`);
    }
  }
  assert.deepEqual(bad, []);
});

test('agent/api imports only zod and itself', () => {
  const bad: string[] = [];
  for (const file of tsFiles(join(ROOT, 'agent/api'))) {
    for (const spec of imports(file)) {
      if (spec !== 'zod' && !(spec.startsWith('./') && !spec.includes('/', 2)))
        bad.push(`${relative(ROOT, file)} -> ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

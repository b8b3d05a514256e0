import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';

const REPO = resolve(import.meta.dirname, '../../..');

/** bin/tskv in a project of its own whose bundle and sources only say which one ran. */
describe('bin/tskv runs the bundle only while no source is newer', () => {
  const root = mkdtempSync(join(tmpdir(), 'tskv-bin-'));
  const put = (path: string, text: string, ageS: number) => {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    const t = Date.now() / 1000 - ageS;
    utimesSync(file, t, t);
    // Its folders too (adding an entry dates a folder): the file's age is the newest thing there.
    for (let dir = dirname(file); dir.startsWith(`${root}/`); dir = dirname(dir)) utimesSync(dir, t, t);
  };
  const say = (what: string) => `console.log('${what}', process.argv.slice(2).join(' '));\n`;
  const run = (env: NodeJS.ProcessEnv = {}) =>
    execFileSync(join(root, 'bin/tskv'), ['deploy', 'inv.yaml'], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    }).trim();

  beforeEach(() => {
    rmSync(root, { recursive: true, force: true });
    mkdirSync(join(root, 'bin'), { recursive: true });
    copyFileSync(join(REPO, 'bin/tskv'), join(root, 'bin/tskv'));
    mkdirSync(join(root, 'node_modules/node/bin'), { recursive: true });
    symlinkSync(join(REPO, 'node_modules/node/bin/node'), join(root, 'node_modules/node/bin/node'));
    put('controller/cli.ts', say('source'), 60);
    put('controller/commands/deploy.ts', '', 60);
    put('agent/api/index.ts', '', 60);
    put('package-lock.json', '{}', 60);
    put('dist/controller/launch.mjs', "await import('./tskv.mjs');\n", 10);
    put(
      'dist/controller/inputs',
      'agent/api\nagent/api/index.ts\ncontroller\ncontroller/cli.ts\ncontroller/commands\ncontroller/commands/deploy.ts\npackage-lock.json\n',
      10,
    );
    put('dist/controller/tskv.mjs', say('bundle'), 10);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a bundle newer than every source runs, with the arguments', () => {
    assert.equal(run(), 'bundle deploy inv.yaml');
  });

  test('an edited controller file, agent API file or lock file means the sources run', () => {
    for (const path of ['controller/commands/deploy.ts', 'agent/api/index.ts', 'package-lock.json']) {
      beforeEachReset();
      put(path, '// edited\n', 0);
      assert.equal(run(), 'source deploy inv.yaml', path);
    }
  });

  test('a file added to the controller means the sources run', () => {
    put('controller/commands/new.ts', '', 0);
    assert.equal(run(), 'source deploy inv.yaml');
  });

  test('a source file removed means the sources run, even if its folder looks untouched', () => {
    rmSync(join(root, 'controller/commands/deploy.ts'));
    assert.equal(run(), 'source deploy inv.yaml');
    const old = Date.now() / 1000 - 60;
    utimesSync(join(root, 'controller/commands'), old, old);
    assert.equal(run(), 'source deploy inv.yaml', 'an input that cannot be checked counts as newer');
  });

  test('an edited file the bundle was not made of changes nothing', () => {
    put('controller/unused-note.md', '', 0);
    put('README.md', '', 0);
    utimesSync(join(root, 'controller'), Date.now() / 1000 - 60, Date.now() / 1000 - 60);
    assert.equal(run(), 'bundle deploy inv.yaml');
  });

  test('no bundle, no list of its inputs, or TSKV_FROM_SOURCE=1: the sources', () => {
    assert.equal(run({ TSKV_FROM_SOURCE: '1' }), 'source deploy inv.yaml');
    rmSync(join(root, 'dist/controller/inputs'));
    assert.equal(run(), 'source deploy inv.yaml');
    rmSync(join(root, 'dist'), { recursive: true });
    assert.equal(run(), 'source deploy inv.yaml');
  });

  function beforeEachReset(): void {
    for (const path of ['controller/commands/deploy.ts', 'agent/api/index.ts', 'package-lock.json']) {
      put(path, '', 60);
    }
  }
});

describe('scripts/build-controller.ts', () => {
  const out = mkdtempSync(join(tmpdir(), 'tskv-build-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  test('lists its inputs from the project root wherever it runs, and dates the bundle before it read them', () => {
    const before = Date.now();
    execFileSync(process.execPath, ['build-controller.ts'], {
      cwd: join(REPO, 'scripts'),
      env: { ...process.env, TSKV_CONTROLLER_OUT: out },
      stdio: 'ignore',
    });
    const inputs = readFileSync(join(out, 'inputs'), 'utf8').trim().split('\n');
    for (const expected of ['controller/cli.ts', 'controller', 'agent/api/index.ts', 'package-lock.json']) {
      assert.ok(inputs.includes(expected), expected);
    }
    assert.deepEqual(
      inputs.filter((p) => p.startsWith('/') || p.startsWith('..') || p.includes('node_modules')),
      [],
    );
    const bundled = statSync(join(out, 'tskv.mjs')).mtimeMs;
    assert.ok(
      bundled >= before - 1000 && bundled <= statSync(join(out, 'inputs')).mtimeMs,
      'dated at the start',
    );
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileRead, fileWrite } from '../../../../agent/handlers/files.ts';

const ctx = { buildId: 'test' };

describe('files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-files-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'etc/etcd/etcd.env');

  test('write creates parents (0755) and the file with its mode; again: no change', async () => {
    assert.deepEqual(await fileRead({ path }, ctx), { exists: false, content: '' });
    const r = await fileWrite({ path, content: 'A=1\nB=2\n', mode: 0o600 }, ctx);
    assert.equal(r.changed, true);
    assert.deepEqual(r.actions, [`create ${path} (0600)`]);
    assert.equal(r.diff, `--- ${path}\n+++ ${path}\n@@ -0,0 +1,2 @@\n+A=1\n+B=2\n`);
    assert.equal(readFileSync(path, 'utf8'), 'A=1\nB=2\n');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'etc/etcd')).mode & 0o777, 0o755);
    const again = await fileWrite({ path, content: 'A=1\nB=2\n', mode: 0o600 }, ctx);
    assert.deepEqual(again, { changed: false, actions: [], diff: '' });
    assert.deepEqual(readdirSync(join(dir, 'etc/etcd')), ['etcd.env'], 'no temporary file left');
  });

  test('a changed line: unified diff', async () => {
    const r = await fileWrite({ path, content: 'A=1\nB=3\n', mode: 0o600 }, ctx);
    assert.equal(r.diff, `--- ${path}\n+++ ${path}\n@@ -1,2 +1,2 @@\n A=1\n-B=2\n+B=3\n`);
    assert.deepEqual(r.actions, [`update ${path}`]);
    assert.equal((await fileRead({ path }, ctx)).content, 'A=1\nB=3\n');
  });

  test('only the mode differs: changed, empty diff', async () => {
    const r = await fileWrite({ path, content: 'A=1\nB=3\n', mode: 0o644 }, ctx);
    assert.deepEqual(r, { changed: true, actions: [`chmod 0644 ${path} (was 0600)`], diff: '' });
    assert.equal(statSync(path).mode & 0o777, 0o644);
  });

  test('a directory in the way: a clear error', async () => {
    await assert.rejects(fileWrite({ path: dir, content: 'x', mode: 0o644 }, ctx), {
      code: 'E_AGENT_BAD_REQUEST',
      message: /is not a regular file/,
    });
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileBytes } from '../../../../controller/artifacts/file-bytes.ts';

describe('fileBytes: a file pushed to every host is read once', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-file-bytes-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('every caller gets the same bytes, read from disk once', async () => {
    const path = join(dir, 'agent.zst');
    writeFileSync(path, 'first');
    const [a, b] = await Promise.all([fileBytes(path), fileBytes(path)]);
    writeFileSync(path, 'changed on disk');
    const c = await fileBytes(path);
    assert.equal(a.toString(), 'first');
    assert.equal(b, a);
    assert.equal(c, a, 'not read again');
  });

  test('a failed read is not remembered', async () => {
    const path = join(dir, 'later.tar.gz');
    await assert.rejects(fileBytes(path), { code: 'ENOENT' });
    writeFileSync(path, 'there now');
    assert.equal((await fileBytes(path)).toString(), 'there now');
  });
});

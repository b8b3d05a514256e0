import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { heldFiles, leaseFileBytes } from '../../../../controller/artifacts/file-bytes.ts';

describe('leaseFileBytes: a file pushed to many hosts is read once, and held only while pushed', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-file-bytes-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('every holder gets the same bytes, read from disk once', async () => {
    const path = join(dir, 'agent.zst');
    writeFileSync(path, 'first');
    const [a, b] = await Promise.all([leaseFileBytes(path), leaseFileBytes(path)]);
    writeFileSync(path, 'changed on disk');
    const c = await leaseFileBytes(path);
    assert.equal(a.bytes.toString(), 'first');
    assert.equal(b.bytes, a.bytes);
    assert.equal(c.bytes, a.bytes, 'not read again while held');
    for (const l of [a, b, c]) l.release();
  });

  test('the bytes are dropped when the last holder releases them; a later lease reads the file again', async () => {
    const path = join(dir, 'etcd.tar.zst');
    writeFileSync(path, 'v1');
    const a = await leaseFileBytes(path);
    const b = await leaseFileBytes(path);
    a.release();
    a.release(); // a second release of the same lease changes nothing
    assert.ok(heldFiles().includes(path), 'b still holds them');
    b.release();
    assert.ok(!heldFiles().includes(path), 'nobody holds them: dropped');
    writeFileSync(path, 'v2');
    const c = await leaseFileBytes(path);
    assert.equal(c.bytes.toString(), 'v2');
    c.release();
  });

  test('a failed read is not remembered', async () => {
    const path = join(dir, 'later.tar.gz');
    await assert.rejects(leaseFileBytes(path), { code: 'ENOENT' });
    assert.ok(!heldFiles().includes(path));
    writeFileSync(path, 'there now');
    const l = await leaseFileBytes(path);
    assert.equal(l.bytes.toString(), 'there now');
    l.release();
  });
});

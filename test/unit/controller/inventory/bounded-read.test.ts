import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  BoundedReadError,
  MIB,
  readBoundedFile,
  withDeadline,
} from '../../../../controller/inventory/bounded-read.ts';

const dir = mkdtempSync(join(tmpdir(), 'tskv-read-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The reason readBoundedFile gives for `path`. */
async function reason(path: string, maxBytes = MIB): Promise<string> {
  const err = await readBoundedFile(path, { maxBytes }).then(
    () => assert.fail(`${path} was read`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof BoundedReadError, String(err));
  assert.equal(err.path, path);
  return err.reason;
}

// Each refusal is quick: { timeout } turns the old behaviour (a FIFO waits for a writer forever) into a failure.
describe('readBoundedFile', { timeout: 5000 }, () => {
  test('reads a regular file up to its limit, exactly', async () => {
    const file = join(dir, 'ok');
    writeFileSync(file, 'x'.repeat(1000));
    assert.equal((await readBoundedFile(file, { maxBytes: 1000 })).toString(), 'x'.repeat(1000));
    assert.equal(await reason(file, 999), 'it is larger than 999 bytes, the most allowed');
  });

  test('a large (sparse) file is refused without reading it', async () => {
    const file = join(dir, 'big');
    writeFileSync(file, '');
    truncateSync(file, 64 * 1024 * MIB);
    assert.equal(await reason(file, 4 * MIB), 'it is larger than 4 MiB, the most allowed');
  });

  test('a FIFO, a device, a folder, a missing file', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    assert.equal(await reason(fifo), 'it is a named pipe (FIFO), not a regular file');
    assert.equal(await reason('/dev/zero'), 'it is a character device (like /dev/zero), not a regular file');
    const folder = join(dir, 'folder');
    mkdirSync(folder);
    assert.equal(await reason(folder), 'it is a folder, not a file');
    assert.equal(await reason(join(dir, 'nope')), 'no such file');
  });

  test('a file that says it is empty but is not (/proc) is read only up to the limit', async () => {
    assert.equal(await reason('/proc/self/status', 10), 'it is larger than 10 bytes, the most allowed');
    assert.match((await readBoundedFile('/proc/self/status', { maxBytes: MIB })).toString(), /^Name:/);
  });

  test('the deadline: a read that does not finish in time is refused', async () => {
    const started = Date.now();
    await assert.rejects(
      withDeadline(
        new Promise(() => {}),
        50,
        () => new BoundedReadError('/x', 'reading it took longer than 0.05 s'),
      ),
      { name: 'BoundedReadError', reason: 'reading it took longer than 0.05 s' },
    );
    assert.ok(Date.now() - started < 1000);
    assert.equal(await withDeadline(Promise.resolve(7), 50, () => new Error('late')), 7);
  });
});

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { LockOwner } from '../../../../agent/api/index.ts';
import { holdClusterLock } from '../../../../agent/handlers/cluster-lock.ts';
import { tryFileLock } from '../../../../agent/system/host-lock.ts';
import { waitUntil } from '../../../../agent/wait-until.ts';

/** Just enough of a response for the hold: it is never written to when the lock is refused. */
function response(): ServerResponse {
  const res = new EventEmitter() as EventEmitter & Record<string, unknown>;
  res.writeHead = () => res;
  res.write = () => true;
  res.destroy = () => res.emit('close');
  return res as unknown as ServerResponse;
}

const owner = (pid: number): LockOwner => ({
  user: 'ops',
  controller: 'ctl',
  pid,
  command: 'tskv deploy inv.yaml',
  since: '2026-12-05T05:00:00.000Z',
});

describe('the cluster lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-cluster-lock-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('found held before its holder recorded itself: the refusal still names the holder', async () => {
    const held = await tryFileLock(join(dir, 'cluster.lock'));
    assert.ok(held);
    try {
      // The holder writes its record a moment after taking the lock, as a run starting together does.
      const record = setTimeout(
        () =>
          writeFileSync(
            join(dir, 'cluster.lock.json'),
            JSON.stringify({ owner: owner(4242), flockPid: held.pid }),
          ),
        300,
      );
      await assert.rejects(
        holdClusterLock({ owner: owner(1), breakHolder: false }, response(), dir),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'E_AGENT_LOCKED');
          assert.match(
            err.message,
            /held by ops@ctl \(pid 4242, since 2026-12-05T05:00:00.000Z\): tskv deploy/,
          );
          return true;
        },
      );
      clearTimeout(record);
    } finally {
      held.release();
      await held.gone;
    }
  });

  test('found held, then freed before its holder said who: taken', async () => {
    const held = await tryFileLock(join(dir, 'cluster.lock'));
    assert.ok(held);
    const free = setTimeout(() => held.release(), 300);
    const res = response();
    try {
      await holdClusterLock({ owner: owner(5), breakHolder: false }, res, dir);
    } finally {
      clearTimeout(free);
      res.emit('close');
    }
    // Released with the connection: free again for the next case.
    assert.ok(
      await waitUntil(async () => {
        const again = await tryFileLock(join(dir, 'cluster.lock'));
        again?.release();
        await again?.gone;
        return again !== undefined;
      }, 5_000),
    );
  });

  test('a stale record of a lock no one holds any more is not named as the holder', async () => {
    writeFileSync(join(dir, 'cluster.lock.json'), JSON.stringify({ owner: owner(4343), flockPid: 999_999 }));
    const held = await tryFileLock(join(dir, 'cluster.lock'));
    assert.ok(held);
    try {
      await assert.rejects(
        holdClusterLock({ owner: owner(1), breakHolder: false }, response(), dir),
        /held by another tskv run \(it did not say who\)/,
      );
    } finally {
      held.release();
      await held.gone;
    }
  });

  test('free: taken, recorded, and released with the connection', async () => {
    const res = response();
    await holdClusterLock({ owner: owner(7), breakHolder: false }, res, dir);
    const again = holdClusterLock({ owner: owner(8), breakHolder: false }, response(), dir);
    await assert.rejects(again, /held by ops@ctl \(pid 7,/);
    res.emit('close');
    const next = response();
    // Released: the flock process exits on its own, then the lock is free again.
    assert.ok(
      await waitUntil(async () => {
        try {
          await holdClusterLock({ owner: owner(9), breakHolder: false }, next, dir);
          return true;
        } catch {
          return false;
        }
      }, 5_000),
    );
    next.emit('close');
  });
});

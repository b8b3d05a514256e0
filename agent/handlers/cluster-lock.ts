/**
 * The cluster lock on this host (see agent/api/lock.ts): held for as long as the connection that
 * asked for it, recorded with its owner so that whoever finds it held learns who holds it.
 */
import { readFileSync, rmSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { z } from 'zod';
import {
  CLUSTER_LOCK_FILE,
  CLUSTER_LOCK_OWNER_FILE,
  describeLockOwner,
  type holdRoutes,
  type LockHoldResponse,
  type LockOwner,
  lockOwnerSchema,
  type ParsedRequestOf,
} from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { writeFileAtomic } from '../system/atomic-file.ts';
import { breakFileLock, type FileLock, isFileLockHolder, tryFileLock } from '../system/host-lock.ts';
import { waitUntil } from '../wait-until.ts';

const recordSchema = z.object({ owner: lockOwnerSchema, flockPid: z.number().int().positive() });
type LockRecord = z.infer<typeof recordSchema>;

interface LockFiles {
  lock: string;
  owner: string;
}

/** The lock and its owner record, in `runDir` when a test gives one. */
function lockFiles(runDir: string | undefined): LockFiles {
  if (runDir === undefined) return { lock: CLUSTER_LOCK_FILE, owner: CLUSTER_LOCK_OWNER_FILE };
  return { lock: join(runDir, 'cluster.lock'), owner: join(runDir, 'cluster.lock.json') };
}

function readRecord(files: LockFiles): LockRecord | undefined {
  try {
    const parsed = recordSchema.safeParse(JSON.parse(readFileSync(files.owner, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const BREAK_WAIT_MS = 10_000;
/** A run records itself just after it takes the lock: one found held may not have written it yet. */
const RECORD_WAIT_MS = 3_000;

/**
 * The lock, or who holds it: the record of its live flock process, waited for while it is written.
 * Tried again meanwhile: a holder that just ended leaves it free. Neither within RECORD_WAIT_MS:
 * held by someone who did not say who.
 */
async function lockOrHolder(files: LockFiles): Promise<{ held?: FileLock; holder?: LockRecord }> {
  let found: { held?: FileLock; holder?: LockRecord } = {};
  await waitUntil(
    async () => {
      const held = await tryFileLock(files.lock);
      if (held) {
        found = { held };
        return true;
      }
      const record = readRecord(files);
      // Only the flock process that holds this lock: a stale record's pid may belong to anyone now.
      found = record && isFileLockHolder(record.flockPid, files.lock) ? { holder: record } : {};
      return found.holder !== undefined;
    },
    RECORD_WAIT_MS,
    100,
  );
  return found;
}

export async function holdClusterLock(
  request: ParsedRequestOf<typeof holdRoutes.lockHold>,
  res: ServerResponse,
  runDir?: string,
): Promise<void> {
  const files = lockFiles(runDir);
  // The caller may go before the lock is granted (Ctrl-C, a kill): then it must not be kept.
  let left = false;
  res.once('close', () => {
    left = true;
  });
  let broke: LockOwner | null = null;
  let held: FileLock | undefined = await tryFileLock(files.lock);
  let holder: LockRecord | undefined;
  if (!held) ({ held, holder } = await lockOrHolder(files));
  if (!held && holder && request.breakHolder) {
    breakFileLock(holder.flockPid);
    broke = holder.owner;
    await waitUntil(async () => {
      held = await tryFileLock(files.lock);
      return held !== undefined;
    }, BREAK_WAIT_MS);
  }
  if (!held) {
    throw new AgentError(
      'E_AGENT_LOCKED',
      holder ? `held by ${describeLockOwner(holder.owner)}` : 'held by another tskv run (it did not say who)',
      409,
    );
  }
  const lock = held;
  const release = () => {
    if (readRecord(files)?.flockPid === lock.pid) rmSync(files.owner, { force: true });
    lock.release();
  };
  try {
    await writeFileAtomic(
      files.owner,
      `${JSON.stringify({ owner: request.owner, flockPid: lock.pid })}\n`,
      0o644,
    );
  } catch (err) {
    release();
    throw err;
  }
  if (left) {
    release();
    return;
  }
  // The hold ends with the connection (the controller released it, or died), or when broken.
  res.once('close', release);
  lock.gone.then(() => res.destroy());
  const reply: LockHoldResponse = { held: true, broke };
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  res.write(`${JSON.stringify(reply)}\n`);
}

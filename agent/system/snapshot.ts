/**
 * Snapshots of the local member taken on its host: etcdctl streams one from the member (over its
 * loopback client URL, with the member's own certificate under TLS) into a `.part` file in the
 * snapshot folder; the file is checked (etcd's trailing sha256, then `snapshot status`), named for
 * its revision, and renamed into place beside its `.sha256`.
 */
import { randomBytes } from 'node:crypto';
import { chmod, link, lstat, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import {
  parseSnapshotName,
  SNAPSHOT_DIR_MODE,
  SNAPSHOT_FILE_MODE,
  type SnapshotInfo,
  type SnapshotList,
  sha256SidecarName,
  snapshotFileName,
  snapshotRoomNeeded,
  snapshotsToPrune,
} from '../api/index.ts';
import { AgentError } from '../errors.ts';
import type { HostLayout } from '../policy/layout.ts';
import { diskSpace } from './disk.ts';
import { type LocalMember, localMember } from './etcd-local.ts';
import { snapshotStatus, snapshotTool } from './etcd-snapshot-tool.ts';
import { runCommand } from './run.ts';
import { digestSnapshot } from './snapshot-file.ts';

/** Streaming a large database takes a while; this only stops a hung etcdctl. */
const SAVE_TIMEOUT_MS = 15 * 60_000;
const _STATUS_TIMEOUT_MS = 5 * 60_000;
const HEALTH_TIMEOUT_MS = 15_000;

function failed(what: string, r: { stderr: string; stdout: string; timedOut: boolean }): AgentError {
  const why = r.timedOut ? 'timed out' : (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ');
  return new AgentError('E_AGENT_COMMAND_FAILED', `${what}: ${why}`);
}

/** The snapshot folder, made root 0700 where missing; refused when it is anything but a folder. */
async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: SNAPSHOT_DIR_MODE });
  const info = await lstat(dir);
  if (!info.isDirectory())
    throw new AgentError('E_AGENT_REFUSED', `${dir} is not a folder (a symlink?)`, 403);
  if ((info.mode & 0o777) !== SNAPSHOT_DIR_MODE) await chmod(dir, SNAPSHOT_DIR_MODE);
}

/** The member's database size (<data dir>/member/snap/db), or null without one. */
async function dbBytes(member: LocalMember): Promise<number | null> {
  const s = await stat(join(member.dataDir, 'member', 'snap', 'db')).catch(() => null);
  return s?.isFile() ? s.size : null;
}

/** Refuses before anything is written when the snapshot folder's file system lacks room for one. */
async function checkRoom(dir: string, db: number): Promise<void> {
  const { freeBytes, measuredAt } = await diskSpace(dir);
  const needed = snapshotRoomNeeded(db);
  if (freeBytes < needed) {
    throw new AgentError(
      'E_AGENT_NO_ROOM',
      `no room for a snapshot in ${dir}: ${mib(freeBytes)} free on ${measuredAt}, a snapshot of the ${mib(db)} database needs ${mib(needed)}`,
      507,
    );
  }
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** `snapshot status` of `file` with the release's own tool (etcdutl 3.5+, else etcdctl 3.4). */
async function statusOf(binDir: string, file: string) {
  const tool = await snapshotTool(binDir);
  if (!tool) {
    throw new AgentError(
      'E_AGENT_NOT_FOUND',
      `neither etcdutl nor etcdctl is in ${binDir}: install etcd first (tskv deploy)`,
      404,
    );
  }
  try {
    const s = await snapshotStatus(tool, file);
    return { hash: s.hash, revision: s.revision, keys: s.totalKey, checkedWith: tool.path };
  } catch (err) {
    throw new AgentError('E_AGENT_COMMAND_FAILED', `${(err as Error).message} (${file})`);
  }
}

async function etcdctl(layout: HostLayout, member: LocalMember, args: string[], timeoutMs: number) {
  return runCommand(
    join(layout.binDir, 'etcdctl'),
    [`--endpoints=${member.endpoint}`, ...member.tlsArgs, ...args],
    timeoutMs,
  );
}

/** Writes `text` to `path` (mode 0600) through a temporary file and a rename. */
async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'wx', SNAPSHOT_FILE_MODE);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

export interface TakeOptions {
  keep?: number;
  requireHealthy: boolean;
  now?: () => Date;
}

/** Takes a snapshot of the local member into layout.snapshotDir, then keeps the newest `keep`. */
export async function takeSnapshot(
  layout: HostLayout,
  options: TakeOptions,
): Promise<{ snapshot: SnapshotInfo; removed: string[]; checkedWith: string }> {
  const member = await localMember(layout.envFile);
  const db = await dbBytes(member);
  if (db === null) {
    throw new AgentError(
      'E_AGENT_NOT_FOUND',
      `no member data in ${member.dataDir}: nothing to snapshot`,
      404,
    );
  }
  const dir = layout.snapshotDir;
  await ensureDir(dir);
  await checkRoom(dir, db);
  // etcdctl's snapshot save waits for ever on a member that does not answer: ask it first.
  const probe = options.requireHealthy ? ['endpoint', 'health'] : ['endpoint', 'status'];
  const h = await etcdctl(layout, member, probe, HEALTH_TIMEOUT_MS);
  if (h.code !== 0) {
    throw failed(
      `the member at ${member.endpoint} ${options.requireHealthy ? 'is not healthy' : 'does not answer'}`,
      h,
    );
  }
  const part = join(dir, `.take-${randomBytes(6).toString('hex')}.db.part`);
  try {
    const saved = await etcdctl(layout, member, ['snapshot', 'save', part], SAVE_TIMEOUT_MS);
    if (saved.code !== 0) throw failed(`etcdctl snapshot save from ${member.endpoint}`, saved);
    await chmod(part, SNAPSHOT_FILE_MODE);
    let digest: Awaited<ReturnType<typeof digestSnapshot>>;
    try {
      digest = await digestSnapshot(part);
    } catch (err) {
      throw new AgentError('E_AGENT_COMMAND_FAILED', (err as Error).message);
    }
    const status = await statusOf(layout.binDir, part);
    const takenAt = (options.now ?? (() => new Date()))();
    const name = snapshotFileName(member.token, takenAt, status.revision);
    const path = join(dir, name);
    // A link, not a rename: a take of the same second and revision never replaces another's file.
    await link(part, path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
      throw new AgentError(
        'E_AGENT_BAD_REQUEST',
        `${path} exists already (another snapshot of revision ${status.revision} taken the same second): take it again`,
        409,
      );
    });
    await writeAtomic(join(dir, sha256SidecarName(name)), `${digest.sha256}  ${name}\n`);
    const removed = options.keep === undefined ? [] : await pruneSnapshots(dir, options.keep, name);
    return {
      snapshot: {
        path,
        size: digest.size,
        sha256: digest.sha256,
        revision: status.revision,
        keys: status.keys,
        hash: status.hash,
        takenAt: takenAt.toISOString(),
      },
      removed,
      checkedWith: status.checkedWith,
    };
  } finally {
    await unlink(part).catch(() => undefined);
    await unlink(`${part}.part`).catch(() => undefined); // etcdctl's own temporary name
  }
}

/**
 * Removes all but the newest `keep` snapshots in `dir` (with their .sha256); the paths removed.
 * `taken`, the one just made, always stays: its name's time comes from this host's clock, which
 * may have been stepped back since older ones were named.
 */
export async function pruneSnapshots(dir: string, keep: number, taken?: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => n !== taken);
  const removed: string[] = [];
  const gone = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err; // another run removed it first
  };
  for (const name of snapshotsToPrune(names, taken === undefined ? keep : keep - 1)) {
    await unlink(join(dir, name)).catch(gone);
    await unlink(join(dir, sha256SidecarName(name))).catch(gone);
    removed.push(join(dir, name));
  }
  return removed;
}

/** The sha256 a `.sha256` file beside a snapshot records, or null. */
async function recordedSha256(file: string): Promise<string | null> {
  const text = await readFile(sha256SidecarName(file), 'utf8').catch(() => '');
  return /^([0-9a-f]{64})\s/.exec(text)?.[1] ?? null;
}

/** The snapshots in layout.snapshotDir (newest first), and the room a new one needs. */
export async function listSnapshots(layout: HostLayout): Promise<SnapshotList> {
  const dir = layout.snapshotDir;
  const names = await readdir(dir).catch(() => [] as string[]);
  const snapshots: SnapshotList['snapshots'] = [];
  for (const name of names.filter((n) => n.endsWith('.db') && !n.startsWith('.'))) {
    const path = join(dir, name);
    const info = await lstat(path).catch(() => null);
    if (!info?.isFile()) continue;
    const parsed = parseSnapshotName(name);
    snapshots.push({
      path,
      size: info.size,
      revision: parsed?.revision ?? null,
      takenAt: (parsed?.takenAt ?? info.mtime).toISOString(),
      sha256: await recordedSha256(path),
    });
  }
  snapshots.sort((a, b) => (a.takenAt < b.takenAt ? 1 : a.takenAt > b.takenAt ? -1 : 0));
  const member = await localMember(layout.envFile).catch(() => null);
  const db = member ? await dbBytes(member) : null;
  return {
    dir,
    snapshots,
    freeBytes: (await diskSpace(dir)).freeBytes,
    dbBytes: db,
    neededBytes: db === null ? null : snapshotRoomNeeded(db),
  };
}

/**
 * Snapshots of a member's data on its host (TSKV_SNAPSHOT_DIR): the routes' shapes and the pure rules
 * both sides share — the file names, which files a `keep` removes, and the room a snapshot needs.
 */
import { z } from 'zod';
import { hostPath } from './fields.ts';

/** The newest this many snapshots stay on a host by default (the inventory's `snapshots.keep`). */
export const DEFAULT_SNAPSHOT_KEEP = 5;

/** `<token>-<UTC timestamp>-rev<revision>.db`; the token is the cluster's initial-cluster-token. */
const NAME = /^([A-Za-z0-9._-]+)-(\d{8}T\d{6}Z)-rev(\d+)\.db$/;

export interface SnapshotName {
  token: string;
  /** 20261204T193318Z */
  stamp: string;
  takenAt: Date;
  revision: number;
}

/** The UTC timestamp a snapshot's name carries: 20261204T193318Z. */
export function snapshotStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

/** The token as it may appear in a file name (anything else becomes `_`; empty: `etcd`). */
export function snapshotToken(token: string | undefined): string {
  const safe = (token ?? '').replace(/[^A-Za-z0-9._-]/g, '_');
  return safe === '' || safe.startsWith('.') ? `etcd${safe}` : safe;
}

export function snapshotFileName(token: string | undefined, at: Date, revision: number): string {
  return `${snapshotToken(token)}-${snapshotStamp(at)}-rev${revision}.db`;
}

/** What a snapshot's file name says, or undefined for a name tskv does not give. */
export function parseSnapshotName(name: string): SnapshotName | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const [, token, stamp, rev] = m as unknown as [string, string, string, string];
  const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`;
  const takenAt = new Date(iso);
  if (Number.isNaN(takenAt.getTime())) return undefined;
  return { token: token, stamp, takenAt, revision: Number(rev) };
}

/**
 * The snapshot files (by name) to remove so that only the newest `keep` remain: newest by the time in
 * the name, then by revision. Names tskv does not give are never chosen.
 */
export function snapshotsToPrune(names: readonly string[], keep: number): string[] {
  const ours = names
    .map((name) => ({ name, parsed: parseSnapshotName(name) }))
    .filter((s): s is { name: string; parsed: SnapshotName } => s.parsed !== undefined)
    .sort(
      (a, b) =>
        b.parsed.takenAt.getTime() - a.parsed.takenAt.getTime() ||
        b.parsed.revision - a.parsed.revision ||
        (a.name < b.name ? 1 : -1),
    );
  return ours.slice(Math.max(keep, 0)).map((s) => s.name);
}

/** Room kept free beyond the snapshot itself: the file system must not fill up to the last byte. */
export const SNAPSHOT_SPARE_BYTES = 16 * 1024 * 1024;

/** Free bytes a snapshot of a `dbBytes` database needs: its size with a tenth to spare, and SNAPSHOT_SPARE_BYTES. */
export function snapshotRoomNeeded(dbBytes: number): number {
  return dbBytes + Math.ceil(dbBytes / 10) + SNAPSHOT_SPARE_BYTES;
}

/** `<file>.sha256`: the file's sha256 as sha256sum writes it, so `sha256sum -c` checks it too. */
export function sha256SidecarName(file: string): string {
  return `${file}.sha256`;
}

export const snapshotTakeRequestSchema = z
  .object({
    /** Afterwards remove all but the newest `keep` snapshots on the host (absent: remove none). */
    keep: z.number().int().min(1).max(1000).optional(),
    /**
     * Refuse when the local member is not healthy (default). False: take it from whatever the member
     * has (a survivor without quorum, before a recovery).
     */
    requireHealthy: z.boolean().default(true),
  })
  .strict();

export const snapshotInfoSchema = z.object({
  path: z.string(),
  /** Bytes. */
  size: z.number().int(),
  /** The file's sha256 (hex), which etcd's own trailing checksum was checked against. */
  sha256: z.string(),
  revision: z.number().int(),
  /** Keys in the snapshot (etcd's totalKey: every key of every revision still kept). */
  keys: z.number().int(),
  /** etcd's hash of the database (snapshot status's hash). */
  hash: z.number().int(),
  /** ISO time it was written. */
  takenAt: z.string(),
});
export type SnapshotInfo = z.infer<typeof snapshotInfoSchema>;

export const snapshotTakeResponseSchema = z.object({
  snapshot: snapshotInfoSchema,
  /** Older snapshots removed to keep `keep`. */
  removed: z.array(z.string()),
  /** The etcd version of the program that checked it (etcdutl 3.5+, etcdctl 3.4). */
  checkedWith: z.string(),
});

export const snapshotListRequestSchema = z.object({}).strict();

export const snapshotListResponseSchema = z.object({
  dir: hostPath,
  snapshots: z.array(
    z.object({
      path: z.string(),
      size: z.number().int(),
      /** From the name; null for a file tskv did not name. */
      revision: z.number().int().nullable(),
      /** From the name (else the file's mtime), ISO. */
      takenAt: z.string(),
      /** From the `.sha256` beside it; null without one. */
      sha256: z.string().nullable(),
    }),
  ),
  /** Free bytes where snapshots go. */
  freeBytes: z.number(),
  /** The local member's database size (its data dir's member/snap/db); null without one. */
  dbBytes: z.number().nullable(),
  /** Free bytes a snapshot needs now (snapshotRoomNeeded of dbBytes); null without a database. */
  neededBytes: z.number().nullable(),
});
export type SnapshotList = z.infer<typeof snapshotListResponseSchema>;

import { z } from 'zod';
import { applyResultSchema } from './deploy.ts';
import { hostPath } from './fields.ts';

/**
 * Restoring a member from a snapshot file the controller uploaded into TSKV_SNAPSHOT_DIR: its
 * status (etcdutl 3.5+ / etcdctl 3.4 `snapshot status`), the room on the file systems involved,
 * and the restore itself into a data dir that is not there (moved aside first).
 */

/** A snapshot file: directly in TSKV_SNAPSHOT_DIR, named *.db (checked agent side too). */
export const SNAPSHOT_FILE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.db$/;

export const snapshotStatusRequestSchema = z.object({ file: hostPath }).strict();
export const snapshotStatusResponseSchema = z.object({
  /** The bolt database's crc32, as etcd prints it. */
  hash: z.number(),
  revision: z.number(),
  /** Keys in the database (every bucket, not only the user's). */
  totalKey: z.number(),
  totalSize: z.number(),
  /** The program that read it: "etcdutl" or "etcdctl". */
  tool: z.string(),
});

/** Free space where files will go; `device` tells two paths on one file system apart. */
export const diskSpaceRequestSchema = z.object({ paths: z.array(hostPath).min(1).max(8) }).strict();
export const diskSpaceResponseSchema = z.object({
  spaces: z.array(
    z.object({
      path: z.string(),
      /** The nearest existing directory at or above it, where statfs was taken. */
      measuredAt: z.string(),
      freeBytes: z.number(),
      device: z.number(),
    }),
  ),
});

/** A member name as the inventory allows it: one word, no '=' or ',' (--initial-cluster's separators), no '/'. */
const memberName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^\s\p{Cc}=,/]+$/u, { message: "must be one word without '=', ',' or '/'" });
const peerUrl = z.string().regex(/^https?:\/\/[A-Za-z0-9.:[\]-]+$/, {
  message: 'must be a peer URL like https://10.0.0.1:2380',
});
/** As cluster.token in the inventory: one word of printable characters, no quotes, at most 128 bytes. */
const token = z
  .string()
  .regex(/^[^\s\p{Cc}'"`]+$/u, { message: 'must be one word of printable characters without quotes' })
  .refine((t) => new TextEncoder().encode(t).length <= 128, { message: 'must be at most 128 bytes' });

export const snapshotRestoreRequestSchema = z
  .object({
    file: hostPath,
    /** Must not exist (move it aside first): etcd restores only into a new data dir. */
    dataDir: hostPath,
    name: memberName,
    /** Every member as name=peerURL. */
    initialCluster: z
      .array(z.object({ name: memberName, peerUrl }))
      .min(1)
      .max(15),
    initialClusterToken: token,
  })
  .strict();
export const snapshotRestoreResponseSchema = applyResultSchema;

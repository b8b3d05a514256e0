import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

/** etcd appends the sha256 of the database to a snapshot it streams: 32 bytes after whole 512-byte pages. */
const TRAILER = 32;

export interface SnapshotDigest {
  size: number;
  /** Of the whole file. */
  sha256: string;
}

/**
 * The file's size and sha256, read once (streamed); throws when it does not end with etcd's own
 * sha256 of everything before it (truncated, corrupt, or not a snapshot etcd streamed).
 */
export async function digestSnapshot(path: string): Promise<SnapshotDigest> {
  const { size } = await stat(path);
  if (size < TRAILER || size % 512 !== TRAILER) {
    throw new Error(
      `${path} (${size} bytes) does not end with etcd's sha256 of its database: truncated or not an etcd snapshot`,
    );
  }
  const whole = createHash('sha256');
  const body = createHash('sha256');
  const bodyBytes = size - TRAILER;
  const trailer = Buffer.alloc(TRAILER);
  let at = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    whole.update(chunk);
    const inBody = Math.max(0, Math.min(chunk.length, bodyBytes - at));
    if (inBody > 0) body.update(chunk.subarray(0, inBody));
    if (inBody < chunk.length) chunk.copy(trailer, at + inBody - bodyBytes, inBody);
    at += chunk.length;
  }
  if (at !== size) throw new Error(`${path} changed while it was read`);
  if (!body.digest().equals(trailer)) {
    throw new Error(`${path} does not match etcd's sha256 of its database (the last 32 bytes): corrupt`);
  }
  return { size, sha256: whole.digest('hex') };
}

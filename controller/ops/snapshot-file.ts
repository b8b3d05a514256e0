/**
 * A snapshot file checked on the controller without etcd's programs, read once as a stream (never
 * held whole): a snapshot saved through etcd's API (etcdctl snapshot save, the v3 maintenance
 * snapshot) is a bolt database followed by the sha256 of everything before it, which `snapshot
 * restore` checks too. On the way, the members the database records (etcd keeps each as JSON in
 * its "members" bucket) are picked out, to tell another cluster's snapshot.
 */
import { createHash } from 'node:crypto';

/** The trailer: sha256 of everything before it. */
const TRAILER = 32;
/** A bolt database starts with two meta pages; its magic sits after the first page's 16-byte header. */
const BOLT_MAGIC = 0xed0cdaed;
const BOLT_MAGIC_AT = 16;
/** The smallest bolt database: 4 pages of 4 KiB (2 meta, a freelist, a leaf), plus the trailer. */
const MIN_SIZE = 4 * 4096 + TRAILER;
/** Bytes kept from one chunk to the next, so that a member record cut by a chunk boundary is still found. */
const CARRY = 4096;

export interface SnapshotMember {
  /** Decimal, as etcd's JSON writes it. */
  id: string;
  name: string;
  peerURLs: string[];
}

export type SnapshotFileCheck =
  | { ok: true; size: number; sha256: string; members: SnapshotMember[] }
  | { ok: false; size: number; problem: string };

const MEMBER_RECORD =
  /\{"id":(\d{1,20}),"peerURLs":(\[[^\]]{0,2000}\])(?:,"name":("[^"\\]{0,200}"))?(?:,"clientURLs":\[[^\]]{0,2000}\])?(?:,"isLearner":true)?\}/g;

/** Every member record in `text` (latin1 of the database's bytes). */
function memberRecords(text: string, into: Map<string, SnapshotMember>): void {
  for (const m of text.matchAll(MEMBER_RECORD)) {
    try {
      const peerURLs = JSON.parse(m[2]!) as unknown;
      if (!Array.isArray(peerURLs) || !peerURLs.every((u) => typeof u === 'string')) continue;
      into.set(m[1]!, { id: m[1]!, name: m[3] ? (JSON.parse(m[3]) as string) : '', peerURLs });
    } catch {
      // not a member record after all
    }
  }
}

/** Checks a snapshot file's bytes as they stream by (a file's read stream, say). */
export async function checkSnapshotStream(chunks: AsyncIterable<Buffer>): Promise<SnapshotFileCheck> {
  const body = createHash('sha256');
  const whole = createHash('sha256');
  const members = new Map<string, SnapshotMember>();
  let size = 0;
  let head = Buffer.alloc(0);
  // The last TRAILER bytes seen, not yet hashed into `body` (they may be the trailer).
  let pending = Buffer.alloc(0);
  let carry = '';
  for await (const chunk of chunks) {
    size += chunk.length;
    whole.update(chunk);
    if (head.length < BOLT_MAGIC_AT + 4) head = Buffer.concat([head, chunk.subarray(0, BOLT_MAGIC_AT + 4)]);
    const joined = chunk.length >= TRAILER ? undefined : Buffer.concat([pending, chunk]);
    if (joined) {
      const cut = Math.max(0, joined.length - TRAILER);
      body.update(joined.subarray(0, cut));
      pending = Buffer.from(joined.subarray(cut));
    } else {
      body.update(pending);
      body.update(chunk.subarray(0, chunk.length - TRAILER));
      pending = Buffer.from(chunk.subarray(chunk.length - TRAILER));
    }
    const text = carry + chunk.toString('latin1');
    memberRecords(text, members);
    carry = text.slice(-CARRY);
  }
  if (size < MIN_SIZE) {
    return {
      ok: false,
      size,
      problem: `it is ${size} bytes long: too short for an etcd snapshot (at least ${MIN_SIZE})`,
    };
  }
  if (head.readUInt32LE(BOLT_MAGIC_AT) !== BOLT_MAGIC) {
    return { ok: false, size, problem: 'it does not start as an etcd (bolt) database does' };
  }
  if (!body.digest().equals(pending)) {
    return {
      ok: false,
      size,
      problem:
        "its last 32 bytes are not the sha256 of the rest, as in a snapshot saved through etcd's API: it is truncated or corrupt (or a copy of a member's db file, which tskv does not restore)",
    };
  }
  return { ok: true, size, sha256: whole.digest('hex'), members: [...members.values()] };
}

/** host:port of a URL, scheme aside (a cluster keeps its addresses when it moves to TLS). */
function address(url: string): string {
  return url.replace(/^[a-z]+:\/\//, '');
}

/**
 * Whether the snapshot's members are this inventory's: undefined when at least one recorded member
 * has an inventory host's name and peer address; else why the file looks like another cluster's.
 */
export function otherCluster(
  members: SnapshotMember[],
  hosts: { name: string; peerUrl: string }[],
): string | undefined {
  if (members.length === 0) return 'the file records no members, so it cannot be told whose it is';
  const ours = members.some((m) =>
    hosts.some((h) => h.name === m.name && m.peerURLs.map(address).includes(address(h.peerUrl))),
  );
  if (ours) return undefined;
  const names = members.map((m) => `${m.name || '(unnamed)'} ${m.peerURLs.join(',')}`).join('; ');
  return `its members (${names}) are none of the inventory's hosts`;
}

/** Parsing and matching of OpenSSH known_hosts files (ssh2 does not read them). Pure: no I/O. */
import { createHmac } from 'node:crypto';

export type KnownHostMarker = 'revoked' | 'cert-authority';

export interface KnownHostEntry {
  /** 1-based line number in the file. */
  line: number;
  marker: KnownHostMarker | undefined;
  /** The host field as written: comma-separated patterns, or one hashed `|1|salt|hash` entry. */
  hosts: string;
  keyType: string;
  keyBlob: Buffer;
}

/** Parses known_hosts text; comments, blank lines, unknown markers and malformed lines are skipped. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const fields = (lines[i] ?? '').trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === '' || fields[0].startsWith('#')) continue;
    let marker: KnownHostMarker | undefined;
    if (fields[0].startsWith('@')) {
      const name = fields.shift()?.slice(1);
      if (name !== 'revoked' && name !== 'cert-authority') continue;
      marker = name;
    }
    const [hosts, keyType, keyBase64] = fields;
    if (hosts === undefined || keyType === undefined || keyBase64 === undefined) continue;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyBase64)) continue;
    entries.push({ line: i + 1, marker, hosts, keyType, keyBlob: Buffer.from(keyBase64, 'base64') });
  }
  return entries;
}

/** The name OpenSSH looks up: the bare host on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

function hashedMatch(field: string, name: string): boolean {
  const parts = field.split('|');
  if (parts.length !== 4 || parts[1] !== '1' || !parts[2] || !parts[3]) return false;
  const salt = Buffer.from(parts[2], 'base64');
  const digest = createHmac('sha1', salt).update(name).digest('base64');
  return digest === parts[3];
}

/** True when the host field of an entry names this host and port (patterns, negations, hashes). */
export function hostFieldMatches(hosts: string, host: string, port: number): boolean {
  const name = knownHostsName(host, port);
  if (hosts.startsWith('|')) return hashedMatch(hosts, name);
  let matched = false;
  for (const pattern of hosts.split(',')) {
    if (pattern.startsWith('!')) {
      if (wildcardMatch(pattern.slice(1), name)) return false;
    } else if (wildcardMatch(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

export type HostKeyVerdict =
  | { kind: 'known' }
  | { kind: 'unknown' }
  | { kind: 'revoked'; line: number }
  /** The host is known with other keys: the presented one is not among them. */
  | { kind: 'changed'; expected: KnownHostEntry[] };

/** What the known_hosts entries say about the key a host presented. */
export function checkHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  presented: Buffer,
): HostKeyVerdict {
  const mine = entries.filter((e) => hostFieldMatches(e.hosts, host, port));
  const revoked = mine.find((e) => e.marker === 'revoked' && e.keyBlob.equals(presented));
  if (revoked) return { kind: 'revoked', line: revoked.line };
  const plain = mine.filter((e) => e.marker === undefined);
  if (plain.some((e) => e.keyBlob.equals(presented))) return { kind: 'known' };
  return plain.length === 0 ? { kind: 'unknown' } : { kind: 'changed', expected: plain };
}

/** Key types known for a host (to offer those host key algorithms first). */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  return entries
    .filter((e) => e.marker === undefined && hostFieldMatches(e.hosts, host, port))
    .map((e) => e.keyType);
}

/** One known_hosts line (without newline) recording a key for host:port. */
export function formatKnownHostsLine(host: string, port: number, keyType: string, keyBlob: Buffer): string {
  return `${knownHostsName(host, port)} ${keyType} ${keyBlob.toString('base64')}`;
}

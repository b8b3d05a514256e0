import { createHash } from 'node:crypto';

/** OpenSSH's fingerprint of a public key blob: `SHA256:` + unpadded base64 of its sha256. */
export function fingerprintSha256(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (its first length-prefixed string), e.g. `ssh-ed25519`. */
export function keyTypeOfBlob(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  if (len <= 0 || len > 64 || 4 + len > keyBlob.length) return 'unknown';
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

/** ssh2's host key algorithms (newest first), and which of them a known_hosts key type allows. */
const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

function algorithmsForKeyType(keyType: string): string[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return DEFAULT_HOST_KEY_ALGORITHMS.includes(keyType) ? [keyType] : [];
}

/**
 * The host key algorithms to offer, those of already known key types first (as OpenSSH does; each
 * group in ssh2's order of preference),
 * so a host known by its RSA key is not asked for a different key that would look "changed".
 */
export function preferredHostKeyAlgorithms(knownKeyTypes: readonly string[]): string[] {
  const allowed = new Set(knownKeyTypes.flatMap(algorithmsForKeyType));
  const first = DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => allowed.has(a));
  return [...first, ...DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => !allowed.has(a))];
}

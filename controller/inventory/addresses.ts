import { isIPv4, isIPv6 } from 'node:net';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** A DNS name per RFC 1123 (labels of letters, digits and inner hyphens; at most 253 characters). */
export function isHostname(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  // All-numeric dotted names are mistyped IPv4 addresses, not host names.
  if (/^[0-9.]+$/.test(value)) return false;
  return value.split('.').every((label) => LABEL.test(label));
}

/** An IPv4 or IPv6 address or a DNS name: what SSH and etcd's URLs can reach. */
export function isAddress(value: string): boolean {
  return isIPv4(value) || isIPv6(value) || isHostname(value);
}

/** Names JavaScript objects give a meaning of their own: as map keys they get lost or mistaken. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** A member's address: no IPv6 zone id (`fe80::1%eth0`), which etcd's URLs cannot carry or advertise. */
export function isMemberAddress(value: string): boolean {
  return isAddress(value) && !value.includes('%');
}

/** Why a member address that isAddress accepts is still refused (`which …`), or undefined. */
export function memberAddressProblem(value: string): string | undefined {
  const zone = value.indexOf('%');
  if (zone < 0 || !isIPv6(value)) return undefined;
  return `has the zone id ${value.slice(zone)}: etcd cannot put one in its URLs or advertise it to other members; use the host's global or unique-local address`;
}

/**
 * One spelling per address, for comparing them: IPv6 in RFC 5952 form (lower case, zeros compressed),
 * an IPv4-mapped IPv6 address (::ffff:192.0.2.1) as its IPv4 address, DNS names in lower case.
 */
export function canonicalAddress(value: string): string {
  if (!isIPv6(value) || value.includes('%')) return value.toLowerCase();
  const host = new URL(`http://[${value}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!mapped) return host;
  const [hi, lo] = [Number.parseInt(mapped[1]!, 16), Number.parseInt(mapped[2]!, 16)];
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
}

/** Why etcd would reject (or mangle) this member name, or undefined if it is usable. */
export function memberNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (RESERVED_NAMES.has(name))
    return 'is reserved (tskv keeps members in JavaScript objects, where it is special)';
  if (name.includes('=')) return "contains '=' (etcd's --initial-cluster separates name=url with it)";
  if (name.includes(',')) return "contains ',' (etcd's --initial-cluster separates members with it)";
  if (/\s/.test(name)) return 'contains whitespace';
  if (/[\p{Cc}]/u.test(name)) return 'contains control characters';
  // The name becomes part of the default data dir (/var/lib/etcd/NAME.etcd).
  if (name.includes('/')) return "contains '/' (it names the data dir /var/lib/etcd/NAME.etcd)";
  if (name === '.' || name === '..') return 'is a path component (it names the data dir)';
  return undefined;
}

/** Names that are also DNS labels travel safely through URLs, file names and shells. */
export function isDnsLabel(name: string): boolean {
  return name.length <= 63 && LABEL.test(name);
}

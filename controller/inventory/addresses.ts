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

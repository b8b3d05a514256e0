import { z } from 'zod';

/**
 * IPv4 and IPv6 networks in CIDR notation, as the inventory's `cluster.clientSources` names them
 * and the firewall rules carry them: one spelling per network (so rules already there compare
 * equal), and nothing but hex digits, dots, colons and one slash (so a source can never add words
 * to a firewalld rich rule, a ufw or an nft command). Pure (no node:net: agent/api imports only zod).
 */

export type IpFamily = 'ipv4' | 'ipv6';

export interface Cidr {
  family: IpFamily;
  /** 4 or 16 bytes. */
  bytes: number[];
  prefix: number;
}

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^(0|[1-9]\d{0,2})$/.test(p) ? Number(p) : Number.NaN));
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

function parseIpv6(text: string): number[] | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === '') return [];
    const out: number[] = [];
    const words = half.split(':');
    for (const [i, w] of words.entries()) {
      if (i === words.length - 1 && w.includes('.')) {
        const v4 = parseIpv4(w);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(w)) out.push(Number.parseInt(w, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  // A dotted quad only ends the address.
  if (halves.length === 2 && halves[0]!.includes('.')) return undefined;
  const words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return words.flatMap((w) => [w >> 8, w & 0xff]);
}

/** A network as written ("10.0.0.0/8", "fd00::/64", or one address: /32 or /128), or why it is not one. */
export function parseCidr(text: string): Cidr | string {
  const [address = '', prefixText, ...more] = text.split('/');
  if (more.length > 0) return "has more than one '/'";
  const v4 = parseIpv4(address);
  const bytes = v4 ?? parseIpv6(address);
  if (!bytes) return 'is neither an IPv4 nor an IPv6 address';
  const family: IpFamily = v4 ? 'ipv4' : 'ipv6';
  const bits = bytes.length * 8;
  if (prefixText !== undefined && !/^(0|[1-9]\d{0,2})$/.test(prefixText))
    return `has the prefix length /${prefixText}: a whole number from 0 to ${bits}`;
  const prefix = prefixText === undefined ? bits : Number(prefixText);
  if (prefix > bits)
    return `has the prefix length /${prefix}, above ${bits} for an ${family === 'ipv4' ? 'IPv4' : 'IPv6'} network`;
  const cidr = { family, bytes, prefix };
  const network = maskHostBits(cidr);
  if (network.bytes.some((b, i) => b !== bytes[i]))
    return `has host bits set after /${prefix}: the network is ${formatCidr(network)}`;
  return cidr;
}

function maskHostBits(c: Cidr): Cidr {
  const bytes = c.bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, c.prefix - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  return { ...c, bytes };
}

function formatIpv6(bytes: number[]): string {
  const words = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  // RFC 5952: the longest run of two or more zero words (the first of equals) becomes '::'.
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (best.at < 0) return hex(words);
  return `${hex(words.slice(0, best.at))}::${hex(words.slice(best.at + best.length))}`;
}

/** One spelling: "192.0.2.7/32", "fd00::/64" (RFC 5952), the prefix length always written. */
export function formatCidr(c: Cidr): string {
  const address = c.family === 'ipv4' ? c.bytes.join('.') : formatIpv6(c.bytes);
  return `${address}/${c.prefix}`;
}

/** Why `text` is not a network tskv takes, or undefined. */
export function cidrProblem(text: string): string | undefined {
  const c = parseCidr(text);
  return typeof c === 'string' ? c : undefined;
}

/** The one spelling of a network or address; undefined when it is not one. */
export function canonicalCidr(text: string): string | undefined {
  const c = parseCidr(text);
  return typeof c === 'string' ? undefined : formatCidr(c);
}

export function cidrFamily(canonical: string): IpFamily {
  return canonical.includes(':') ? 'ipv6' : 'ipv4';
}

/** A network in its one spelling (what canonicalCidr makes of it): nothing else reaches a firewall rule. */
export const cidr = z.string().superRefine((text, ctx) => {
  const problem = cidrProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(text)} ${problem}` });
  else if (canonicalCidr(text) !== text)
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(text)} must be written ${canonicalCidr(text)}`,
    });
});

import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { sharedWhileRunning } from './shared-reading.ts';

export interface TcpListener {
  address: string;
  port: number;
  family: 'ipv4' | 'ipv6';
  inode: number;
}

const TCP_LISTEN = '0A';

/** The bytes of one 32-bit word of /proc/net/tcp, which the kernel prints in host byte order. */
function wordBytes(hex8: string, littleEndian: boolean): number[] {
  const bytes = [0, 2, 4, 6].map((i) => Number.parseInt(hex8.slice(i, i + 2), 16));
  return littleEndian ? bytes.reverse() : bytes;
}

function formatIpv6(bytes: number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${bytes.slice(12).join('.')}`;
  }
  // Compress the longest run of zero groups (RFC 5952).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function decodeAddress(hex: string, littleEndian = endianness() === 'LE'): string {
  if (hex.length === 8) return wordBytes(hex, littleEndian).join('.');
  const bytes: number[] = [];
  for (let w = 0; w < 32; w += 8) bytes.push(...wordBytes(hex.slice(w, w + 8), littleEndian));
  return formatIpv6(bytes);
}

/** Listening sockets from the text of /proc/net/tcp or /proc/net/tcp6. */
export function parseProcNetTcp(text: string, littleEndian = endianness() === 'LE'): TcpListener[] {
  const out: TcpListener[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== TCP_LISTEN) continue;
    const [addrHex, portHex] = (f[1] ?? '').split(':');
    if (!addrHex || !portHex) continue;
    out.push({
      address: decodeAddress(addrHex, littleEndian),
      port: Number.parseInt(portHex, 16),
      family: addrHex.length === 8 ? 'ipv4' : 'ipv6',
      inode: Number(f[9]),
    });
  }
  return out;
}

/**
 * The host's listening TCP sockets, in this network namespace. Concurrent callers share one
 * reading: each read of /proc/net/tcp{,6} walks the kernel's whole socket table, every
 * namespace's (~7 ms each on the lab machine).
 */
export const readTcpListeners: () => Promise<TcpListener[]> = sharedWhileRunning(readBoth);

async function readBoth(): Promise<TcpListener[]> {
  const texts = await Promise.all(
    ['/proc/net/tcp', '/proc/net/tcp6'].map(
      (file) => readFile(file, 'utf8').catch(() => ''), // no IPv6 in this kernel or namespace
    ),
  );
  return texts.flatMap((text) => (text ? parseProcNetTcp(text) : []));
}

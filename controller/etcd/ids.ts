import { InputError } from '../errors.ts';

/**
 * etcd member and cluster IDs are unsigned 64-bit integers. On the v3 JSON gateway they travel as
 * decimal strings; etcdctl prints them as lowercase unpadded hex (`strconv.FormatUint(id, 16)`).
 * They never pass through a JS number (which would lose precision).
 */
export type EtcdId = string;

const MAX_U64 = (1n << 64n) - 1n;
const DECIMAL = /^[0-9]{1,20}$/;
const HEX = /^[0-9a-fA-F]{1,16}$/;

function checkRange(value: bigint, text: string): bigint {
  if (value > MAX_U64) throw new InputError(`etcd ID ${text} does not fit in 64 bits`);
  return value;
}

/** Decimal string (as the gateway sends it) or bigint → bigint. */
export function idToBigInt(id: EtcdId | bigint): bigint {
  if (typeof id === 'bigint') return checkRange(id, id.toString());
  if (!DECIMAL.test(id)) throw new InputError(`not a decimal etcd ID: ${JSON.stringify(id)}`);
  return checkRange(BigInt(id), id);
}

/** Decimal ID → etcdctl's form: lowercase hex without padding ("84099faad6d56427"). */
export function idToHex(id: EtcdId | bigint): string {
  return idToBigInt(id).toString(16);
}

/** etcdctl's hex form (case-insensitive, an optional 0x) → the decimal string the gateway expects. */
export function hexToId(hex: string): EtcdId {
  const text = hex.trim().replace(/^0x/i, '');
  if (!HEX.test(text)) throw new InputError(`not a hexadecimal etcd member ID: ${JSON.stringify(hex)}`);
  return BigInt(`0x${text}`).toString(10);
}

/** True when `text` looks like an etcdctl member ID (1-16 hex digits). */
export function isHexId(text: string): boolean {
  return HEX.test(text.trim().replace(/^0x/i, ''));
}

/** Go's `%16x`: hex right-aligned in 16 columns with spaces (etcdctl's "Member %16x added ..."). */
export function idToPaddedHex(id: EtcdId | bigint): string {
  return idToHex(id).padStart(16, ' ');
}

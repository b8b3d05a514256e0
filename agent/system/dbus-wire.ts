/**
 * The D-Bus wire format (https://dbus.freedesktop.org/doc/dbus-specification.html, "Message
 * Protocol"), as much as tskv needs: method calls with basic arguments out, any reply in.
 * Pure functions over Buffers; the connection is in dbus.ts.
 */

export type DbusValue = string | number | boolean | DbusValue[] | { [key: string]: DbusValue };

/** A typed argument as dbus-send spells it: "string:public", "int32:0". */
export type DbusArg = string;

export interface DbusCall {
  dest: string;
  path: string;
  /** interface.member, e.g. "org.fedoraproject.FirewallD1.zone.getPorts". */
  method: string;
  args?: DbusArg[];
}

export const MESSAGE = { call: 1, return: 2, error: 3, signal: 4 } as const;

const FIELD = {
  path: 1,
  interface: 2,
  member: 3,
  errorName: 4,
  replySerial: 5,
  destination: 6,
  sender: 7,
  signature: 8,
} as const;

const ALIGN: Record<string, number> = {
  y: 1,
  b: 4,
  n: 2,
  q: 2,
  i: 4,
  u: 4,
  x: 8,
  t: 8,
  d: 8,
  h: 4,
  s: 4,
  o: 4,
  g: 1,
  a: 4,
  '(': 8,
  '{': 8,
  v: 1,
};

const ARG_TYPES: Record<string, string> = {
  string: 's',
  objpath: 'o',
  int32: 'i',
  uint32: 'u',
  boolean: 'b',
  byte: 'y',
};

const INTEGER_RANGE: Record<string, [number, number]> = {
  i: [-(2 ** 31), 2 ** 31 - 1],
  u: [0, 2 ** 32 - 1],
  y: [0, 255],
};

/** Bytes that take `length` to the next multiple of `n` (D-Bus aligns every value to its size). */
const padding = (length: number, n: number) => (n - (length % n)) % n;

/** The message's byte order from its first byte ('l' little, 'B' big); throws on anything else. */
function isLittleEndian(buf: Buffer): boolean {
  if (buf[0] !== 0x6c && buf[0] !== 0x42) throw new Error('not a D-Bus message');
  return buf[0] === 0x6c;
}

/** Writes little-endian values with D-Bus alignment (relative to the start of the message). */
class Writer {
  private chunks: Buffer[] = [];
  length = 0;

  private push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  align(n: number): void {
    const pad = padding(this.length, n);
    if (pad > 0) this.push(Buffer.alloc(pad));
  }
  byte(v: number): void {
    this.push(Buffer.from([v]));
  }
  uint32(v: number): void {
    this.align(4);
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  int32(v: number): void {
    this.align(4);
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  string(v: string): void {
    const bytes = Buffer.from(v, 'utf8');
    this.uint32(bytes.length);
    this.push(Buffer.concat([bytes, Buffer.alloc(1)]));
  }
  signature(v: string): void {
    this.byte(v.length);
    this.push(Buffer.from(`${v}\0`, 'latin1'));
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** dbus-send style arguments as a signature and a writer for each. */
function encodeArgs(args: DbusArg[]): { signature: string; write: ((w: Writer) => void)[] } {
  let signature = '';
  const write: ((w: Writer) => void)[] = [];
  for (const arg of args) {
    const colon = arg.indexOf(':');
    const kind = arg.slice(0, colon);
    const raw = arg.slice(colon + 1);
    const type = ARG_TYPES[kind];
    if (colon < 0 || type === undefined) throw new Error(`unsupported D-Bus argument ${JSON.stringify(arg)}`);
    signature += type;
    if (type === 's' || type === 'o') write.push((w) => w.string(raw));
    else if (type === 'b') {
      if (raw !== 'true' && raw !== 'false') throw new Error(`not a boolean: ${JSON.stringify(arg)}`);
      write.push((w) => w.uint32(raw === 'true' ? 1 : 0));
    } else {
      const n = Number(raw);
      const [min, max] = INTEGER_RANGE[type]!;
      if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
        throw new Error(`not a ${kind}: ${JSON.stringify(arg)}`);
      }
      if (type === 'i') write.push((w) => w.int32(n));
      else if (type === 'u') write.push((w) => w.uint32(n));
      else write.push((w) => w.byte(n));
    }
  }
  return { signature, write };
}

/** A METHOD_CALL message. */
export function encodeCall(call: DbusCall, serial: number): Buffer {
  const dot = call.method.lastIndexOf('.');
  const iface = dot > 0 ? call.method.slice(0, dot) : undefined;
  const member = call.method.slice(dot + 1);
  const { signature, write } = encodeArgs(call.args ?? []);

  const body = new Writer();
  for (const w of write) w(body);
  const bodyBytes = body.bytes();

  const h = new Writer();
  h.byte('l'.charCodeAt(0));
  h.byte(MESSAGE.call);
  h.byte(0);
  h.byte(1);
  h.uint32(bodyBytes.length);
  h.uint32(serial);
  const fields = new Writer();
  const field = (code: number, type: string, put: (w: Writer) => void) => {
    fields.align(8);
    fields.byte(code);
    fields.signature(type);
    put(fields);
  };
  // Header fields are written relative to offset 16 (8-aligned), so alignment carries over.
  field(FIELD.path, 'o', (w) => w.string(call.path));
  if (iface) field(FIELD.interface, 's', (w) => w.string(iface));
  field(FIELD.member, 's', (w) => w.string(member));
  field(FIELD.destination, 's', (w) => w.string(call.dest));
  if (signature) field(FIELD.signature, 'g', (w) => w.signature(signature));
  const fieldBytes = fields.bytes();
  h.uint32(fieldBytes.length);
  const head = Buffer.concat([h.bytes(), fieldBytes]);
  return Buffer.concat([head, Buffer.alloc(padding(head.length, 8)), bodyBytes]);
}

/** The specification's limit: a longer length means the stream is out of step. */
const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;

/** Bytes of the first message in `buf`, or undefined while it is incomplete; throws on nonsense. */
export function messageLength(buf: Buffer): number | undefined {
  if (buf.length < 16) return undefined;
  const le = isLittleEndian(buf);
  const bodyLength = le ? buf.readUInt32LE(4) : buf.readUInt32BE(4);
  const fieldsLength = le ? buf.readUInt32LE(12) : buf.readUInt32BE(12);
  const headerEnd = 16 + fieldsLength + padding(16 + fieldsLength, 8);
  const total = headerEnd + bodyLength;
  if (total > MAX_MESSAGE_BYTES) throw new Error(`a D-Bus message of ${total} bytes (the limit is 128 MiB)`);
  return buf.length >= total ? total : undefined;
}

/** Reads D-Bus values from one message (offsets are from the message start, for alignment). */
class Reader {
  pos: number;
  private readonly buf: Buffer;
  private readonly le: boolean;
  constructor(buf: Buffer, le: boolean, pos: number) {
    this.buf = buf;
    this.le = le;
    this.pos = pos;
  }
  align(n: number): void {
    this.pos += padding(this.pos, n);
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error('truncated D-Bus message');
  }
  uint32(): number {
    this.align(4);
    this.need(4);
    const v = this.le ? this.buf.readUInt32LE(this.pos) : this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** One complete type from `sig` at `i`: its value and the index after it. */
  value(sig: string, i: number): [DbusValue, number] {
    const t = sig[i]!;
    const b = this.buf;
    this.align(ALIGN[t] ?? 1);
    const num = (size: number, read: (at: number) => number | bigint): number => {
      this.need(size);
      const v = read(this.pos);
      this.pos += size;
      return Number(v);
    };
    switch (t) {
      case 'y':
        return [num(1, (at) => b.readUInt8(at)), i + 1];
      case 'b':
        return [this.uint32() !== 0, i + 1];
      case 'n':
        return [num(2, (at) => (this.le ? b.readInt16LE(at) : b.readInt16BE(at))), i + 1];
      case 'q':
        return [num(2, (at) => (this.le ? b.readUInt16LE(at) : b.readUInt16BE(at))), i + 1];
      case 'i':
        return [num(4, (at) => (this.le ? b.readInt32LE(at) : b.readInt32BE(at))), i + 1];
      case 'u':
      case 'h':
        return [this.uint32(), i + 1];
      case 'x':
        return [num(8, (at) => (this.le ? b.readBigInt64LE(at) : b.readBigInt64BE(at))), i + 1];
      case 't':
        return [num(8, (at) => (this.le ? b.readBigUInt64LE(at) : b.readBigUInt64BE(at))), i + 1];
      case 'd':
        return [num(8, (at) => (this.le ? b.readDoubleLE(at) : b.readDoubleBE(at))), i + 1];
      case 's':
      case 'o': {
        const len = this.uint32();
        this.need(len + 1);
        const s = b.toString('utf8', this.pos, this.pos + len);
        this.pos += len + 1;
        return [s, i + 1];
      }
      case 'g':
        return [this.signature(), i + 1];
      case 'v': {
        const inner = this.signature();
        const [v] = this.value(inner, 0);
        return [v, i + 1];
      }
      case 'a':
        return this.array(sig, i);
      case '(': {
        const items: DbusValue[] = [];
        let j = i + 1;
        while (sig[j] !== ')') {
          if (j >= sig.length) throw new Error(`bad D-Bus signature ${sig}`);
          let v: DbusValue;
          [v, j] = this.value(sig, j);
          items.push(v);
        }
        return [items, j + 1];
      }
      default:
        throw new Error(`unsupported D-Bus type ${t} in ${sig}`);
    }
  }

  private signature(): string {
    this.need(1);
    const len = this.buf[this.pos]!;
    this.need(len + 2);
    const s = this.buf.toString('latin1', this.pos + 1, this.pos + 1 + len);
    this.pos += len + 2;
    return s;
  }

  /** `a…`: a list, or an object for a dict (`a{…}`). */
  private array(sig: string, i: number): [DbusValue, number] {
    const byteLength = this.uint32();
    const elem = i + 1;
    const isDict = sig[elem] === '{';
    this.align(ALIGN[sig[elem]!] ?? 1);
    const end = this.pos + byteLength;
    const list: DbusValue[] = [];
    const dict: Record<string, DbusValue> = {};
    while (this.pos < end) {
      if (isDict) {
        this.align(8);
        const [k, j] = this.value(sig, elem + 1);
        dict[String(k)] = this.value(sig, j)[0];
      } else {
        list.push(this.value(sig, elem)[0]);
      }
    }
    return [isDict ? dict : list, skipType(sig, elem)];
  }
}

/** Index just past the complete type starting at `i`. */
function skipType(sig: string, i: number): number {
  const t = sig[i];
  if (t === 'a') return skipType(sig, i + 1);
  if (t === '(' || t === '{') {
    const close = t === '(' ? ')' : '}';
    let j = i + 1;
    while (sig[j] !== close) {
      if (j >= sig.length) throw new Error(`bad D-Bus signature ${sig}`);
      j = skipType(sig, j);
    }
    return j + 1;
  }
  return i + 1;
}

export interface DecodedMessage {
  type: number;
  serial: number;
  replySerial?: number;
  errorName?: string;
  body: DbusValue[];
}

/** Decodes one whole message (see messageLength). */
export function decodeMessage(buf: Buffer): DecodedMessage {
  const le = isLittleEndian(buf);
  const r = new Reader(buf, le, 4);
  const bodyLength = r.uint32();
  const serial = r.uint32();
  const [fields] = r.value('a(yv)', 0) as [DbusValue[][], number];
  r.align(8);
  const bodyStart = r.pos;
  const msg: DecodedMessage = { type: buf[1]!, serial, body: [] };
  let signature = '';
  for (const [code, value] of fields) {
    if (code === FIELD.replySerial) msg.replySerial = value as number;
    else if (code === FIELD.errorName) msg.errorName = value as string;
    else if (code === FIELD.signature) signature = value as string;
  }
  const body = new Reader(buf.subarray(0, bodyStart + bodyLength), le, bodyStart);
  for (let i = 0; i < signature.length; ) {
    let v: DbusValue;
    [v, i] = body.value(signature, i);
    msg.body.push(v);
  }
  return msg;
}

/**
 * System-bus method calls from inside the agent, over one connection it keeps (dbus-wire.ts does
 * the format). Each call through `dbus-send` had cost a fork of the agent and a process start: a
 * firewalld reading is 3-4 calls and a fresh deploy ~16 a host, which was most of the agent's own
 * CPU on the lab's shared cores.
 */
import { createConnection, type Socket } from 'node:net';
import {
  type DbusCall,
  type DbusValue,
  type DecodedMessage,
  decodeMessage,
  encodeCall,
  MESSAGE,
  messageLength,
} from './dbus-wire.ts';

export type { DbusCall, DbusValue } from './dbus-wire.ts';

/** How system-bus methods are called: dbusInvoke on a host, a recording fake in tests. */
export type DbusInvoke = (call: DbusCall) => Promise<DbusValue[]>;

const DEFAULT_SYSTEM_BUS = 'unix:path=/var/run/dbus/system_bus_socket';
const CALL_TIMEOUT_MS = 5_000;

/** A method call the bus or the service refused: `errorName` is the D-Bus error name. */
export class DbusError extends Error {
  readonly errorName: string;
  constructor(errorName: string, message: string) {
    super(`${errorName}: ${message}`);
    this.name = 'DbusError';
    this.errorName = errorName;
  }
}

/** The socket path of a `unix:path=...` bus address (the first such entry). */
export function busSocketPath(address: string): string | undefined {
  for (const entry of address.split(';')) {
    const m = /^unix:(?:.*,)?path=([^,]+)/.exec(entry);
    if (m) return decodeURIComponent(m[1]!);
  }
  return undefined;
}

interface Pending {
  resolve(body: DbusValue[]): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** One authenticated bus connection; calls may overlap. */
export class DbusConnection {
  private serial = 0;
  private readonly pending = new Map<number, Pending>();
  private buffered: Buffer = Buffer.alloc(0);
  private failure: Error | undefined;
  private readonly socket: Socket;

  private constructor(socket: Socket) {
    this.socket = socket;
  }

  /**
   * Connects, authenticates (EXTERNAL, as this process's uid) and says Hello, all within
   * `timeoutMs`: a bus that accepts and then says nothing must not hold its callers forever.
   * On any failure the socket is destroyed.
   */
  static async open(socketPath: string, timeoutMs = CALL_TIMEOUT_MS): Promise<DbusConnection> {
    const socket = createConnection(socketPath);
    // Errors after a failed open must not go unheard (an 'error' without a listener ends the process).
    socket.on('error', () => undefined);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the D-Bus bus at ${socketPath} did not accept us within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([DbusConnection.handshake(socket), deadline]);
    } catch (err) {
      socket.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private static async handshake(socket: Socket): Promise<DbusConnection> {
    const rest = await new Promise<Buffer>((resolve, reject) => {
      let got: Buffer = Buffer.alloc(0);
      const done = () => socket.off('data', onData).off('error', reject).off('close', onClose);
      const onData = (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        const end = got.indexOf('\r\n');
        if (end < 0) return;
        done();
        const line = got.subarray(0, end).toString('latin1');
        if (!line.startsWith('OK ')) reject(new Error(`D-Bus authentication refused: ${line}`));
        else resolve(got.subarray(end + 2));
      };
      const onClose = () => {
        done();
        reject(new Error('the D-Bus connection closed during authentication'));
      };
      socket.on('error', reject).on('data', onData).once('close', onClose);
      const uid = Buffer.from(String(process.getuid?.() ?? 0)).toString('hex');
      socket.write(`\0AUTH EXTERNAL ${uid}\r\n`);
    });
    socket.write('BEGIN\r\n');
    const conn = new DbusConnection(socket);
    conn.buffered = rest;
    socket.on('data', (chunk: Buffer) => conn.receive(chunk));
    socket.on('error', (err) => conn.fail(err));
    socket.on('close', () => conn.fail(new Error('the D-Bus connection closed')));
    await conn.call({
      dest: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      method: 'org.freedesktop.DBus.Hello',
    });
    return conn;
  }

  get closed(): boolean {
    return this.failure !== undefined;
  }

  /** The reply's values; rejects with DbusError when the call is refused. */
  call(call: DbusCall, timeoutMs = CALL_TIMEOUT_MS): Promise<DbusValue[]> {
    if (this.failure) return Promise.reject(this.failure);
    this.serial = (this.serial % 0xffffffff) + 1;
    const serial = this.serial;
    let message: Buffer;
    try {
      message = encodeCall(call, serial);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.take(serial);
        reject(new Error(`no D-Bus reply to ${call.method} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(serial, { resolve, reject, timer });
      // An idle connection never keeps the process alive; one awaiting a reply does.
      this.socket.ref();
      this.socket.write(message);
    });
  }

  close(): void {
    this.fail(new Error('the D-Bus connection closed'));
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    for (;;) {
      let msg: DecodedMessage;
      try {
        const length = messageLength(this.buffered);
        if (length === undefined) return;
        const bytes = this.buffered.subarray(0, length);
        this.buffered = this.buffered.subarray(length);
        msg = decodeMessage(bytes);
      } catch (err) {
        // Out of step with the bus: nothing more on this connection can be trusted.
        this.fail(err as Error);
        this.socket.destroy();
        return;
      }
      this.settle(msg);
    }
  }

  private settle(msg: DecodedMessage): void {
    if (msg.replySerial === undefined || (msg.type !== MESSAGE.return && msg.type !== MESSAGE.error)) return;
    const p = this.take(msg.replySerial);
    if (!p) return;
    if (msg.type === MESSAGE.return) p.resolve(msg.body);
    else
      p.reject(
        new DbusError(msg.errorName ?? 'org.freedesktop.DBus.Error.Failed', String(msg.body[0] ?? '')),
      );
  }

  /** The call waiting for `serial`, no longer waiting (its timer stopped); undefined if none was. */
  private take(serial: number): Pending | undefined {
    const p = this.pending.get(serial);
    if (!p) return undefined;
    this.pending.delete(serial);
    clearTimeout(p.timer);
    if (this.pending.size === 0) this.socket.unref();
    return p;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
  }
}

let systemBus: Promise<DbusConnection> | undefined;

/** The agent's system-bus connection, opened on first use and again after it broke. */
export async function systemBusConnection(): Promise<DbusConnection> {
  const seen = systemBus;
  const current = seen ? await seen.catch(() => undefined) : undefined;
  if (current && !current.closed) return current;
  // Another caller may have opened a new one while this one waited: use that.
  if (systemBus !== seen && systemBus) return systemBusConnection();
  const path = busSocketPath(process.env.DBUS_SYSTEM_BUS_ADDRESS || DEFAULT_SYSTEM_BUS);
  if (!path) throw new Error('DBUS_SYSTEM_BUS_ADDRESS has no unix:path= entry');
  const opening = DbusConnection.open(path);
  systemBus = opening;
  // A failed open is not kept: the next call tries again.
  opening.catch(() => {
    if (systemBus === opening) systemBus = undefined;
  });
  return opening;
}

/** Calls a method on the system bus; rejects with its error (DbusError when refused). */
export async function dbusInvoke(call: DbusCall): Promise<DbusValue[]> {
  return (await systemBusConnection()).call(call);
}

/** Calls a method (on the system bus unless `invoke` says otherwise); undefined when there is no bus or the call fails. */
export async function dbusCall(
  call: DbusCall,
  invoke: DbusInvoke = dbusInvoke,
): Promise<DbusValue[] | undefined> {
  return invoke(call).catch(() => undefined);
}

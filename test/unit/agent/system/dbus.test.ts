import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { busSocketPath, DbusConnection, DbusError } from '../../../../agent/system/dbus.ts';
import { decodeMessage, encodeCall, MESSAGE, messageLength } from '../../../../agent/system/dbus-wire.ts';

const BUS = { dest: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus' };

describe('D-Bus wire format', () => {
  test('a method call carries its header fields and typed arguments, 8-byte aligned', () => {
    const msg = encodeCall(
      {
        dest: 'org.fedoraproject.FirewallD1',
        path: '/org/fedoraproject/FirewallD1',
        method: 'org.fedoraproject.FirewallD1.zone.addPort',
        args: ['string:public', 'string:2380', 'string:tcp', 'int32:-1'],
      },
      7,
    );
    assert.equal(messageLength(msg), msg.length);
    assert.equal(messageLength(msg.subarray(0, msg.length - 1)), undefined, 'incomplete');
    const decoded = decodeMessage(msg);
    assert.equal(decoded.type, MESSAGE.call);
    assert.equal(decoded.serial, 7);
    assert.deepEqual(decoded.body, ['public', '2380', 'tcp', -1]);
    const text = msg.toString('latin1');
    for (const s of ['org.fedoraproject.FirewallD1.zone', 'addPort', 'sssi']) assert.ok(text.includes(s), s);
  });

  test('unsupported or malformed arguments are refused before anything is sent', () => {
    const encode = (arg: string) => () => encodeCall({ ...BUS, method: 'x.y', args: [arg] }, 1);
    assert.throws(encode('dict:a'), /unsupported D-Bus argument/);
    for (const bad of [
      'int32:abc',
      'int32:',
      'int32:1.5',
      'int32:2147483648',
      'uint32:-1',
      'byte:300',
      'boolean:yes',
    ]) {
      assert.throws(encode(bad), /not a (int32|uint32|byte|boolean)/, bad);
    }
    assert.doesNotThrow(encode('int32:-2147483648'));
  });

  test("a length past the specification's limit means the stream is out of step", () => {
    const header = Buffer.alloc(16);
    header.write('l', 0, 'latin1');
    header.writeUInt32LE(200 * 1024 * 1024, 4);
    assert.throws(() => messageLength(header), /128 MiB/);
    assert.throws(() => messageLength(Buffer.from('HTTP/1.1 400 Bad Request\r\n')), /not a D-Bus message/);
  });

  test('bus addresses', () => {
    assert.equal(busSocketPath('unix:path=/run/dbus/system_bus_socket'), '/run/dbus/system_bus_socket');
    assert.equal(busSocketPath('tcp:host=x;unix:guid=1,path=/tmp/a%20b'), '/tmp/a b');
    assert.equal(busSocketPath('unix:abstract=/tmp/x'), undefined);
  });
});

describe('DbusConnection against buses that misbehave', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-dbus-bad-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A unix socket server that treats each client with `onClient`. */
  async function fakeBus(
    name: string,
    onClient: (socket: Socket) => void,
  ): Promise<{ path: string; close(): void }> {
    const path = join(dir, name);
    const server = createServer(onClient);
    await new Promise<void>((resolve) => server.listen(path, resolve));
    return { path, close: () => server.close() };
  }

  test('a bus that accepts and never answers: open fails within its time, the socket closed', async () => {
    let clientClosed: Promise<unknown> = Promise.resolve();
    const bus = await fakeBus('silent', (socket) => {
      clientClosed = once(socket, 'close');
      socket.resume(); // reads (and ignores) the login, so it sees the client hang up
    });
    try {
      await assert.rejects(DbusConnection.open(bus.path, 200), /did not accept us within 200 ms/);
      await clientClosed;
    } finally {
      bus.close();
    }
  });

  test("a refused login fails with the bus's words; the bus hanging up afterwards harms nothing", async () => {
    const bus = await fakeBus('refusing', (socket) => {
      socket.once('data', () => {
        socket.write('REJECTED DBUS_COOKIE_SHA1\r\n');
        socket.destroy();
      });
    });
    try {
      await assert.rejects(
        DbusConnection.open(bus.path, 2000),
        /authentication refused: REJECTED DBUS_COOKIE_SHA1/,
      );
    } finally {
      bus.close();
    }
  });

  test('no bus at all: the connect error', async () => {
    await assert.rejects(DbusConnection.open(join(dir, 'nothing-here'), 2000), /ENOENT/);
  });
});

describe('DbusConnection against a real dbus-daemon', {
  skip: process.getuid?.() !== 0 && 'needs root',
}, () => {
  let dir: string;
  let daemon: ChildProcess;
  let conn: DbusConnection;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-dbus-'));
    const socket = join(dir, 'bus');
    daemon = spawn(
      'dbus-daemon',
      ['--session', '--nofork', '--print-address', `--address=unix:path=${socket}`],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    // It prints its address once it listens.
    await new Promise<void>((resolve, reject) => {
      daemon.stdout!.once('data', () => resolve());
      daemon.once('error', reject);
      daemon.once('exit', (code) => reject(new Error(`dbus-daemon exited ${code}`)));
    });
    conn = await DbusConnection.open(socket);
  });
  after(() => {
    conn?.close();
    daemon?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('calls overlap and each gets its own reply: strings, arrays, dicts of variants', async () => {
    const [id, names, creds] = await Promise.all([
      conn.call({ ...BUS, method: 'org.freedesktop.DBus.GetId' }),
      conn.call({ ...BUS, method: 'org.freedesktop.DBus.ListNames' }),
      conn.call({
        ...BUS,
        method: 'org.freedesktop.DBus.GetConnectionCredentials',
        args: ['string:org.freedesktop.DBus'],
      }),
    ]);
    assert.match(String(id[0]), /^[0-9a-f]{32}$/);
    assert.ok((names[0] as string[]).includes('org.freedesktop.DBus'));
    const c = creds[0] as Record<string, unknown>;
    assert.equal(c.UnixUserID, 0);
    assert.equal(c.ProcessID, daemon.pid);
  });

  test('a refused call rejects with the error name and message; the connection stays usable', async () => {
    await assert.rejects(
      conn.call({ ...BUS, method: 'org.freedesktop.DBus.GetNameOwner', args: ['string:org.example.Nobody'] }),
      (err: unknown) =>
        err instanceof DbusError && err.errorName === 'org.freedesktop.DBus.Error.NameHasNoOwner',
    );
    const [owner] = await conn.call({
      ...BUS,
      method: 'org.freedesktop.DBus.GetNameOwner',
      args: ['string:org.freedesktop.DBus'],
    });
    assert.equal(owner, 'org.freedesktop.DBus');
  });

  test('a call awaiting its reply keeps the process alive; an idle connection does not', () => {
    const script = `
      import { DbusConnection } from ${JSON.stringify(join(import.meta.dirname, '../../../../agent/system/dbus.ts'))};
      const conn = await DbusConnection.open(${JSON.stringify(join(dir, 'bus'))});
      const [id] = await conn.call({ dest: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', method: 'org.freedesktop.DBus.GetId' });
      console.log(String(id).length);
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.equal(out.trim(), '32', 'the reply arrived and the process then exited by itself');
  });

  test('a dead bus fails pending and later calls at once', async () => {
    const other = await DbusConnection.open(join(dir, 'bus'));
    other.close();
    await assert.rejects(other.call({ ...BUS, method: 'org.freedesktop.DBus.GetId' }), /closed/);
    assert.equal(other.closed, true);
  });
});

/**
 * ProxyJump (controller/connect/jump.ts) against two real OpenSSH servers on 127.0.0.1: `jump` and
 * `target`. A target reached through the jump host has no TCP connection of ours: sshd opened it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConnectionPool, connect } from '../../controller/connect/index.ts';
import type { HostSpec } from '../../controller/inventory/model.ts';
import { expectTskvError } from '../fixtures/expect-tskv-error.ts';
import { freePort } from '../fixtures/free-port.ts';
import { LoopbackSshd, loopbackSshdUnavailable } from '../fixtures/loopback-sshd.ts';
import { until } from '../fixtures/wait.ts';

const skip = loopbackSshdUnavailable();

/** Our own established TCP connections to 127.0.0.1:port. */
function ourConnections(port: number): number {
  const out = execFileSync('ss', ['-Htnp', 'state', 'established', 'dst', `127.0.0.1:${port}`], {
    encoding: 'utf8',
  });
  return out.split('\n').filter((l) => l.includes(`pid=${process.pid},`)).length;
}

describe('ProxyJump on loopback sshds', { skip, timeout: 60_000 }, () => {
  let jump: LoopbackSshd;
  let target: LoopbackSshd;
  let knownHosts: string;
  const behind = (name: string, ssh: Partial<HostSpec['ssh']> = {}): HostSpec =>
    target.hostSpec({ proxyJump: `127.0.0.1:${jump.port}`, knownHosts, ...ssh }, name);

  before(async () => {
    [jump, target] = await Promise.all([LoopbackSshd.start(), LoopbackSshd.start()]);
    // The hop authenticates with the target's identity (the inventory's), as hops inherit it.
    appendFileSync(join(jump.dir, 'authorized_keys'), readFileSync(`${target.clientKey}.pub`));
    knownHosts = join(target.dir, 'known_hosts');
    writeFileSync(knownHosts, jump.knownHostsLine() + target.knownHostsLine());
  });
  after(async () => {
    await jump?.cleanup();
    await target?.cleanup();
  });

  test('two hosts behind one jump host share its one session; closing the pool closes it', async () => {
    const pool = new ConnectionPool();
    try {
      const outcomes = await pool.connectAll([behind('a'), behind('b')]);
      for (const o of outcomes) assert.equal(o.error, undefined, o.error?.message);
      for (const o of outcomes) assert.equal((await o.connection!.exec('echo hi')).stdout, 'hi\n');
      assert.equal(ourConnections(jump.port), 1, 'one session to the jump host');
      assert.equal(ourConnections(target.port), 0, 'the targets are reached through the jump host only');
    } finally {
      pool.closeAll();
    }
    await until('the jump session to close', () => ourConnections(jump.port) === 0);
  });

  test('connect() alone opens its own jump session and closes it with the connection', async () => {
    const conn = await connect(behind('solo'));
    assert.equal((await conn.exec('echo via')).stdout, 'via\n');
    assert.equal(ourConnections(target.port), 0);
    conn.close();
    await until('the jump session to close', () => ourConnections(jump.port) === 0);
  });

  test("a changed host key of the jump host is refused, naming the jump host, as the target's failure", async () => {
    const forged = join(target.dir, 'known_hosts.forged');
    const targetKey = target.knownHostsLine().split(' ').slice(1).join(' ');
    writeFileSync(forged, `[127.0.0.1]:${jump.port} ${targetKey}${target.knownHostsLine()}`);
    const err = await expectTskvError(connect(behind('a', { knownHosts: forged })));
    assert.equal(err.code, 'E_HOST_KEY_CHANGED');
    assert.equal(err.host, 'a');
    assert.match(
      err.message,
      new RegExp(`^jump host 127\\.0\\.0\\.1:${jump.port}: REMOTE HOST IDENTIFICATION HAS CHANGED`),
    );
  });

  test('a jump host that refuses the key is named', async () => {
    const err = await expectTskvError(connect(behind('a', { proxyJump: `nobody@127.0.0.1:${jump.port}` })));
    assert.equal(err.code, 'E_SSH_AUTH');
    assert.equal(err.host, 'a');
    assert.match(err.message, new RegExp(`^jump host 127\\.0\\.0\\.1:${jump.port} refused user nobody`));
  });

  test('a target the jump host cannot reach is named with the jump host', async () => {
    const closed = await freePort();
    const err = await expectTskvError(connect(behind('a', { port: closed })));
    assert.equal(err.code, 'E_SSH_UNREACHABLE');
    assert.match(
      err.message,
      new RegExp(`^jump host 127\\.0\\.0\\.1:${jump.port} could not reach 127\\.0\\.0\\.1:${closed}`),
    );
  });

  test('two hops: jump, then jump again, then the target', async () => {
    const conn = await connect(
      behind('a', { proxyJump: `127.0.0.1:${jump.port},root@127.0.0.1:${jump.port}` }),
    );
    assert.equal((await conn.exec('echo twice')).stdout, 'twice\n');
    conn.close();
  });
});

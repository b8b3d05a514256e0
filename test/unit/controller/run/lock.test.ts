import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TskvError } from '../../../../controller/errors.ts';
import { lockCluster } from '../../../../controller/run/lock.ts';
import { until } from '../../../fixtures/wait.ts';
import { type RunningAgent, startAgent } from '../../agent/start-agent.ts';

describe('the cluster lock, through real agents', () => {
  let runDir: string;
  let a: RunningAgent;
  let b: RunningAgent;
  const hosts = () => [
    { name: 'h1', agent: a.client },
    { name: 'h2', agent: b.client },
  ];

  let otherDir: string;
  before(async () => {
    // Two hosts, each with its own lock (a file, so any agent on that host sees it).
    runDir = mkdtempSync(join(tmpdir(), 'tskv-lock-'));
    otherDir = mkdtempSync(join(tmpdir(), 'tskv-lock-'));
    a = await startAgent(undefined, ['--run-dir', runDir]);
    b = await startAgent(undefined, ['--run-dir', otherDir]);
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    rmSync(runDir, { recursive: true, force: true });
    rmSync(otherDir, { recursive: true, force: true });
  });

  test('held: a second run fails at once naming the first; released: it is free again', async () => {
    const first = await lockCluster(hosts(), 'tskv deploy inv.yaml', false);
    const owner = JSON.parse(readFileSync(join(runDir, 'cluster.lock.json'), 'utf8')) as {
      owner: { command: string };
    };
    assert.equal(owner.owner.command, 'tskv deploy inv.yaml');
    const t0 = Date.now();
    await assert.rejects(lockCluster(hosts(), 'tskv replace inv.yaml a=b', false), (err: unknown) => {
      assert.ok(err instanceof TskvError);
      assert.equal(err.code, 'E_LOCKED');
      assert.match(err.message, /held by \S+@\S+ \(pid \d+, since .*\): tskv deploy inv\.yaml/);
      assert.match(err.fix ?? '', /--break-lock/);
      return true;
    });
    assert.ok(Date.now() - t0 < 10_000, 'fails at once, does not wait for the holder');
    first.release();
    await until('the lock to be released', () => !existsSync(join(runDir, 'cluster.lock.json')));
    const second = await lockCluster(hosts(), 'tskv replace inv.yaml a=b', false);
    second.release();
  });

  test("a holder's connection that closes (a killed run) frees the lock", async () => {
    const held = await a.client.hold((await import('../../../../agent/api/index.ts')).holdRoutes.lockHold, {
      owner: { user: 'x', controller: 'y', pid: 1, command: 'killed', since: 'now' },
    });
    await assert.rejects(lockCluster(hosts(), 'tskv deploy', false), { code: 'E_LOCKED' });
    held.release();
    await until('the lock to be released', () => !existsSync(join(runDir, 'cluster.lock.json')));
    (await lockCluster(hosts(), 'tskv deploy', false)).release();
  });

  test('a caller that goes before its lock is granted leaves no lock behind', async () => {
    const body = JSON.stringify({
      owner: { user: 'x', controller: 'y', pid: 1, command: 'gone early', since: 'now' },
    });
    const socket = connect(a.socket);
    await once(socket, 'connect');
    socket.write(
      `POST /v1/lock/hold HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    socket.destroy(); // gone before the agent could answer
    await until('the lock to be free', async () => {
      try {
        (await lockCluster(hosts(), 'tskv deploy', false)).release();
        return true;
      } catch {
        return false;
      }
    });
    await until('the owner record to go', () => !existsSync(join(runDir, 'cluster.lock.json')));
  });

  test('--break-lock ends the hold of a run that hangs, and says whose it was', async () => {
    const hung = await lockCluster(hosts(), 'tskv deploy hung.yaml', false);
    hung.check();
    const broken = await lockCluster(hosts(), 'tskv deploy inv.yaml --break-lock', true);
    assert.equal(broken.broke.length, 1);
    assert.match(broken.broke[0]!, /: tskv deploy hung\.yaml$/);
    // The run whose hold was broken learns it before its next step.
    await until('the broken run to know', () => {
      try {
        hung.check();
        return false;
      } catch (err) {
        assert.ok(err instanceof TskvError);
        assert.equal(err.code, 'E_LOCK_LOST');
        return true;
      }
    });
    broken.check();
    broken.release();
    hung.release();
  });

  test('hosts still connecting: each is locked once it and the hosts before it are up, in name order; one never reached is skipped', async () => {
    const b1 = Promise.withResolvers<typeof b.client | undefined>();
    const gone = Promise.withResolvers<typeof a.client | undefined>();
    const heldOn: string[] = [];
    const pending = lockCluster(
      [
        { name: 'h2', agent: b1.promise },
        { name: 'h1', agent: a.client },
        { name: 'h3', agent: gone.promise },
      ],
      'tskv deploy inv.yaml',
      false,
      (host) => heldOn.push(host),
    );
    await until('h1 to be locked while h2 still connects', () => heldOn.length === 1);
    assert.deepEqual(heldOn, ['h1']);
    b1.resolve(b.client);
    await until('h2 to be locked', () => heldOn.length === 2);
    gone.resolve(undefined); // h3 could not be reached
    const held = await pending;
    assert.deepEqual(heldOn, ['h1', 'h2']);
    assert.ok(existsSync(join(otherDir, 'cluster.lock.json')));
    held.release();
  });

  test('refused on a later host: the hosts locked before it are let go, and no more are told held', async () => {
    const other = await lockCluster([{ name: 'h2', agent: b.client }], 'tskv deploy other.yaml', false);
    const heldOn: string[] = [];
    await assert.rejects(
      lockCluster(hosts(), 'tskv deploy inv.yaml', false, (host) => heldOn.push(host)),
      { code: 'E_LOCKED' },
    );
    assert.deepEqual(heldOn, ['h1']);
    await until('h1 to be free again', () => !existsSync(join(runDir, 'cluster.lock.json')));
    other.release();
  });
});

/**
 * spawn's stopOnDisconnect against a real sshd (a throwaway one on 127.0.0.1): sshd keeps a
 * session's process running when the client goes away, so a process that must not outlive the
 * connection (tskv etcdctl's, holding the client key) gets TERM from its watchdog session.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { processAlive as alive } from '../../../../agent/system/proc-stat.ts';
import { connect, type HostConnection } from '../../../../controller/connect/index.ts';
import { LoopbackSshd, loopbackSshdUnavailable } from '../../../fixtures/loopback-sshd.ts';
import { until } from '../../../fixtures/wait.ts';

describe('spawn with stopOnDisconnect (loopback sshd)', { skip: loopbackSshdUnavailable() }, () => {
  let sshd: LoopbackSshd;
  const pids: number[] = [];

  before(async () => {
    sshd = await LoopbackSshd.start();
    sshd.trustHostKey();
  });
  after(async () => {
    for (const pid of pids.filter((p) => alive(p))) process.kill(pid, 'SIGKILL');
    await sshd?.cleanup();
  });

  /** A sleep spawned on a fresh connection, and its pid once it runs. */
  async function sleeper(
    stopOnDisconnect: boolean,
  ): Promise<{ conn: HostConnection; pid: number; exited: Promise<number | null> }> {
    const conn = await connect(sshd.hostSpec());
    const proc = await conn.spawn('echo $$; exec sleep 60', { root: false, stopOnDisconnect });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    await until('the sleep to start', () => out.includes('\n'));
    const pid = Number(out.trim());
    pids.push(pid);
    return { conn, pid, exited: proc.exited };
  }

  test('the connection gone, the process gets TERM; without the option sshd lets it run on', async () => {
    const guarded = await sleeper(true);
    const unguarded = await sleeper(false);
    guarded.conn.close();
    unguarded.conn.close();
    await until('the guarded process to be stopped', () => !alive(guarded.pid));
    assert.ok(alive(unguarded.pid), 'sshd keeps an unguarded process running');
  });

  test('a process that ends by itself: its exit code, and the watchdog leaves quietly', async () => {
    const conn = await connect(sshd.hostSpec());
    try {
      const proc = await conn.spawn('exit 7', { root: false, stopOnDisconnect: true });
      proc.stdout.resume();
      assert.equal(await proc.exited, 7);
      // Its session slot freed: as many more as MaxSessions allows still open.
      const more = await Promise.all(
        Array.from({ length: 8 }, () => conn.exec('true', { root: false, timeoutMs: 10_000 })),
      );
      assert.deepEqual(
        more.map((r) => r.code),
        Array(8).fill(0),
      );
    } finally {
      conn.close();
    }
  });
});

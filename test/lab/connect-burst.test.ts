import assert from 'node:assert/strict';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { connect, type HostConnection } from '../../controller/connect/index.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';

// Short commands whose open confirmation, output, exit status and close reach ssh2 in one read: every
// event must be seen (a listener attached one await too late lost the exit status and the channel slot).
describe('SSH transport under bursts of short commands', { skip: labUnavailableReason() ?? false }, () => {
  const NAME = 'burst';
  let conn: HostConnection;
  before(async () => {
    const lab = await Lab.up({ name: NAME, hosts: ['h102'], fresh: true });
    conn = await connect((await lab.inventory()).hosts[0]!);
  });
  after(async () => {
    conn?.close();
    await Lab.down(NAME);
  });

  test('320 short commands, 8 at a time: every exit status and output arrives, no channel slot leaks', async () => {
    const problems: string[] = [];
    for (let round = 0; round < 40; round++) {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => conn.exec(`echo ${round}-${i}; exit ${i % 3}`)),
      );
      results.forEach((r, i) => {
        if (r.status === 'rejected') problems.push(String((r.reason as Error).message));
        else if (r.value.stdout !== `${round}-${i}\n` || r.value.code !== i % 3)
          problems.push(JSON.stringify(r.value));
      });
    }
    assert.deepEqual(problems, []);
  });

  test('short spawned processes keep their output for readers that attach after spawn resolves', async () => {
    const firstLine = async (i: number): Promise<string | undefined> => {
      const p = await conn.spawn(`if [ -f /nonexistent ]; then exec true; fi; printf 'line-%s\\n' ${i}`);
      const lines = createInterface({ input: p.stdout as Readable });
      return new Promise((resolve) => {
        // A stream resumed before its reader attached ends unseen: without a deadline this hangs.
        const timer = setTimeout(() => resolve('(nothing within 5 s)'), 5000);
        lines.once('line', (line) => {
          clearTimeout(timer);
          resolve(line);
        });
        lines.once('close', () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      });
    };
    const lost: number[] = [];
    for (let round = 0; round < 10; round++) {
      const got = await Promise.all(Array.from({ length: 6 }, (_, i) => firstLine(round * 6 + i)));
      got.forEach((line, i) => {
        if (line !== `line-${round * 6 + i}`) lost.push(round * 6 + i);
      });
    }
    assert.deepEqual(lost, []);
  });

  test('a short spawned process reports its exit code', async () => {
    for (let i = 0; i < 20; i++) {
      const p = await conn.spawn(`exit ${(i % 5) + 1}`);
      assert.equal(await p.exited, (i % 5) + 1);
    }
  });
});

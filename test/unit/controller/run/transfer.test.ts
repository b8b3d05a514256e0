import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { BackgroundLines } from '../../../../controller/run/background.ts';
import {
  chunked,
  formatDone,
  formatProgress,
  TransferLog,
  TransferMeter,
  type TransferUpdate,
} from '../../../../controller/run/transfer.ts';

/** A meter on a clock the test moves. */
function meterAt(total: number) {
  let now = 0;
  const updates: TransferUpdate[] = [];
  const meter = new TransferMeter('h1', 'agent runtime', total, (u) => updates.push(u), { now: () => now });
  return {
    meter,
    updates,
    at(ms: number) {
      now = ms;
    },
  };
}

describe('transfer progress', () => {
  test('the live line: what, done of total, rate, time left', () => {
    assert.equal(
      formatProgress({ what: 'agent runtime', bytes: 12_300_000, total: 34_100_000, seconds: 5.125 }),
      'agent runtime 12.3/34.1 MB 2.4 MB/s 10 s left',
    );
    assert.equal(
      formatProgress({ what: 'etcd tarball', bytes: 1_000_000, total: 100_000_000, seconds: 10 }),
      'etcd tarball 1.0/100.0 MB 0.1 MB/s 16 min 30 s left',
    );
    // Nothing moved yet: no rate to guess a time from.
    assert.equal(
      formatProgress({ what: 'agent code', bytes: 0, total: 200_000, seconds: 0 }),
      'agent code 0.0/0.2 MB 0.0 MB/s',
    );
  });

  test('the end line: bytes, seconds, rate', () => {
    assert.equal(
      formatDone({ what: 'agent runtime', bytes: 34_100_000, seconds: 14.2 }),
      'agent runtime 34.1 MB in 14.2 s (2.4 MB/s)',
    );
  });

  test('the meter says nothing in the first second, then at most 4 times a second, and always its end', () => {
    const { meter, updates, at } = meterAt(10_000_000);
    at(0);
    meter.add(0); // the first bytes start its clock
    at(500);
    meter.add(1_000_000);
    assert.equal(updates.length, 0, 'a short transfer shows only its end');
    at(1000);
    meter.add(1_000_000);
    assert.equal(updates.length, 1);
    for (const ms of [1050, 1100, 1200, 1249]) {
      at(ms);
      meter.add(100_000);
    }
    assert.equal(updates.length, 1, 'no redraw within 250 ms');
    at(1250);
    meter.add(100_000);
    assert.equal(updates.length, 2);
    assert.deepEqual(updates[1], {
      host: 'h1',
      what: 'agent runtime',
      bytes: 2_500_000,
      total: 10_000_000,
      seconds: 1.25,
      done: false,
    });
    at(2000);
    const record = meter.end();
    assert.deepEqual(record, {
      host: 'h1',
      what: 'agent runtime',
      bytes: 2_500_000,
      seconds: 2,
      bytesPerSecond: 1_250_000,
    });
    assert.equal(updates.at(-1)?.done, true);
    const late = meterAt(1000);
    late.at(5000); // a meter made before its channel was open: its clock starts with the first bytes
    late.meter.add(1000);
    late.at(5500);
    assert.equal(late.meter.end().seconds, 0.5);
    assert.equal(meter.end(), record, 'a second end changes nothing');
    meter.add(5);
    assert.equal(updates.length, 3, 'nothing counts after the end');
  });

  test('a buffer streams in views of it, and the counter sees every byte as it passes', async () => {
    const data = Buffer.alloc(1_000_000, 7);
    const chunks: Buffer[] = [];
    const { meter, at } = meterAt(data.length);
    at(0);
    await pipeline(
      chunked(data, 64 * 1024),
      meter.counter(),
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(chunk);
          cb();
        },
      }),
    );
    assert.equal(chunks.length, Math.ceil(data.length / (64 * 1024)));
    assert.ok(
      chunks.every((c) => c.buffer === data.buffer),
      'views, not copies',
    );
    assert.equal(meter.bytes, data.length);
    assert.ok(Buffer.concat(chunks).equals(data));
  });

  test('the log keeps each finished transfer; live lines only when asked (a TTY)', () => {
    for (const live of [true, false]) {
      const log = new TransferLog(live ? 'tty' : 'plain');
      const lines: string[] = [];
      let now = 0;
      const meter = new TransferMeter(
        'h2',
        'etcd tarball',
        4_000_000,
        log.listener((l) => lines.push(l)),
        {
          now: () => now,
        },
      );
      meter.add(0);
      now = 1000;
      meter.add(2_000_000);
      now = 2000;
      meter.add(2_000_000);
      meter.end();
      assert.deepEqual(log.records, [
        { host: 'h2', what: 'etcd tarball', bytes: 4_000_000, seconds: 2, bytesPerSecond: 2_000_000 },
      ]);
      assert.equal(lines.at(-1), 'etcd tarball 4.0 MB in 2.0 s (2.0 MB/s)');
      assert.deepEqual(
        lines.slice(0, -1),
        live
          ? ['etcd tarball 2.0/4.0 MB 2.0 MB/s 1 s left', 'etcd tarball 4.0/4.0 MB 2.0 MB/s 0 s left']
          : [],
      );
    }
  });

  test('a transfer outside any group: its live line under the group on a TTY until it ends, its end line in plain output', () => {
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => {
      written.push(chunk);
      return true;
    }) as typeof write;
    try {
      for (const mode of ['tty', 'plain', 'silent'] as const) {
        written.length = 0;
        const log = new TransferLog(mode);
        const board = new BackgroundLines();
        let now = 0;
        const meter = new TransferMeter('h3', 'etcd tarball', 4_000_000, log.background('h3', board), {
          now: () => now,
        });
        meter.add(0);
        now = 1000;
        meter.add(1_000_000);
        assert.deepEqual(
          board.all(),
          mode === 'tty' ? [['h3', 'etcd tarball 1.0/4.0 MB 1.0 MB/s 3 s left']] : [],
          mode,
        );
        assert.deepEqual(written, [], 'nothing on its own line while it moves');
        now = 4000;
        meter.add(3_000_000);
        meter.end();
        assert.deepEqual(board.all(), [], 'its line goes when it ends');
        assert.deepEqual(written, mode === 'plain' ? ['h3: etcd tarball 4.0 MB in 4.0 s (1.0 MB/s)\n'] : []);
        assert.equal(log.records.length, 1, 'JSON has it in every mode');
      }
    } finally {
      process.stderr.write = write;
    }
  });

  test('a transfer that fails takes its live line away and leaves no record', () => {
    const log = new TransferLog('tty');
    const board = new BackgroundLines();
    let now = 0;
    const meter = new TransferMeter('h4', 'etcd tarball', 4_000_000, log.background('h4', board), {
      now: () => now,
    });
    meter.add(0);
    now = 1500;
    meter.add(1_000_000);
    assert.equal(board.all().length, 1);
    meter.fail();
    meter.fail();
    meter.add(1_000_000);
    assert.deepEqual(board.all(), []);
    assert.deepEqual(log.records, []);
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import type { ExecResult } from '../../../../controller/connect/types.ts';
import { type CommandRunner, uploadFile } from '../../../../controller/connect/upload.ts';
import { TransferMeter, type TransferUpdate } from '../../../../controller/run/transfer.ts';

const unquote = (word = '') => word.replace(/^'|'$/g, '');
/** A host whose `tee | sha256sum && stat` stores what it is sent, optionally corrupted. */
function fakeHost(corrupt = false): CommandRunner & { files: Map<string, Buffer> } {
  const files = new Map<string, Buffer>();
  return {
    host: 'h102',
    files,
    async run(command, options): Promise<ExecResult> {
      if (command.includes('sha256sum')) {
        const sent = Buffer.from(options.stdin as Buffer);
        const stored = corrupt ? Buffer.concat([sent, Buffer.from('!')]) : sent;
        const tmp = unquote(/tee (\S+)/.exec(command)?.[1]);
        files.set(tmp, stored);
        const hash = createHash('sha256').update(stored).digest('hex');
        return { code: 0, stdout: `${hash}  -\n${stored.length}\n`, stderr: '' };
      }
      const move = /mv -f (\S+) (\S+)/.exec(command);
      if (move) files.set(unquote(move[2]), files.get(unquote(move[1])) ?? Buffer.alloc(0));
      return { code: 0, stdout: '', stderr: '' };
    },
  };
}

describe('uploadFile with the same bytes for several hosts', () => {
  const bytes = Buffer.from('etcd tarball '.repeat(1000));
  const sha256 = createHash('sha256').update(bytes).digest('hex');

  test('each host gets and verifies them', async () => {
    const hosts = [fakeHost(), fakeHost(), fakeHost()];
    await Promise.all(hosts.map((h) => uploadFile(h, bytes, '/var/lib/tskv/cache/etcd.tar.zst', { sha256 })));
    for (const h of hosts) assert.deepEqual(h.files.get('/var/lib/tskv/cache/etcd.tar.zst'), bytes);
  });

  test('a host that stored other bytes still fails, after the hash was remembered', async () => {
    await uploadFile(fakeHost(), bytes, '/tmp/a', { sha256 });
    await assert.rejects(
      uploadFile(fakeHost(true), bytes, '/tmp/a', { sha256 }),
      /sha256 mismatch for \/tmp\/a/,
    );
  });

  test('bytes that are not the expected ones fail before the host is believed', async () => {
    await assert.rejects(
      uploadFile(fakeHost(), bytes, '/tmp/b', { sha256: '0'.repeat(64) }),
      new RegExp(`expected 0{64}, sent ${sha256}`),
    );
  });
});

describe('uploadFile stopped by its signal', () => {
  /** A host that reads its input as a stream (as ssh2's channel does), aborting after the first chunk. */
  function streamingHost(onFirstChunk: () => void) {
    const commands: string[] = [];
    const files = new Map<string, Buffer>();
    const received: number[] = [];
    const host: CommandRunner = {
      host: 'h102',
      async run(command, options): Promise<ExecResult> {
        commands.push(command);
        if (command.includes('sha256sum')) {
          const chunks: Buffer[] = [];
          for await (const chunk of options.stdin as AsyncIterable<Buffer>) {
            if (chunks.length === 0) onFirstChunk();
            chunks.push(chunk);
          }
          const stored = Buffer.concat(chunks);
          received.push(stored.length);
          files.set(unquote(/tee (\S+)/.exec(command)?.[1]), stored);
          const hash = createHash('sha256').update(stored).digest('hex');
          return { code: 0, stdout: `${hash}  -\n${stored.length}\n`, stderr: '' };
        }
        const rm = /rm -f (\S+)/.exec(command);
        if (rm) files.delete(unquote(rm[1]));
        const move = /mv -f (\S+) (\S+)/.exec(command);
        if (move) files.set(unquote(move[2]), files.get(unquote(move[1])) ?? Buffer.alloc(0));
        return { code: 0, stdout: '', stderr: '' };
      },
    };
    return { host, commands, files, received };
  }
  const bytes = Buffer.alloc(8 * 1024 * 1024, 7);

  test('mid-way: the bytes stop, the partial file is removed, nothing is put in place', async () => {
    const stop = new AbortController();
    const h = streamingHost(() => stop.abort(new Error('the cluster lock was refused')));
    await assert.rejects(
      uploadFile(h.host, bytes, '/var/lib/tskv/cache/etcd.tar.zst', { signal: stop.signal }),
      /stopped before it ended \(the cluster lock was refused\)/,
    );
    assert.equal(h.files.size, 0, 'no partial file left, nothing moved into place');
    assert.ok(
      h.received[0]! < bytes.length / 2,
      `the bytes stopped (${h.received[0]} of ${bytes.length} sent)`,
    );
    assert.ok(h.commands.some((c) => c.startsWith('rm -f ')));
    assert.ok(!h.commands.some((c) => c.includes('mv -f')));
  });

  test('already stopped: nothing reaches the host', async () => {
    const stop = new AbortController();
    stop.abort(new Error('refused'));
    const h = streamingHost(() => {});
    await assert.rejects(
      uploadFile(h.host, bytes, '/tmp/x', { signal: stop.signal }),
      /stopped before it ended/,
    );
    assert.deepEqual(h.commands, []);
  });

  test('not stopped: a stoppable upload arrives whole', async () => {
    const h = streamingHost(() => {});
    await uploadFile(h.host, bytes, '/tmp/y', { signal: new AbortController().signal });
    assert.deepEqual(h.files.get('/tmp/y'), bytes);
  });
});

describe('uploadFile with a meter', () => {
  /** A host whose write fails: it exits 1, or the connection drops. */
  function failingHost(how: 'exit' | 'drop'): CommandRunner {
    return {
      host: 'h103',
      async run(command, options): Promise<ExecResult> {
        if (command.includes('sha256sum')) {
          for await (const _ of options.stdin as Readable);
          if (how === 'drop') throw new Error('connection lost');
          return { code: 1, stdout: '', stderr: 'No space left on device' };
        }
        return { code: 0, stdout: '', stderr: '' };
      },
    };
  }

  for (const how of ['exit', 'drop'] as const) {
    test(`a write that fails (${how}) tells the meter's listener it is over (a live line must not stay)`, async () => {
      const updates: TransferUpdate[] = [];
      const meter = new TransferMeter('h103', 'etcd tarball', 4096, (u) => updates.push(u));
      await assert.rejects(uploadFile(failingHost(how), Buffer.alloc(4096), '/tmp/c', { meter }));
      assert.equal(updates.at(-1)?.failed, true);
      assert.equal(updates.at(-1)?.done, true);
    });
  }
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { spawnProxyCommand } from '../../../../controller/connect/proxy-command.ts';

describe('spawnProxyCommand', () => {
  test('packets queued while a write is pending reach the command intact and in order', async () => {
    const proxy = spawnProxyCommand('cat', 'h', 22, 'root');
    const received: Buffer[] = [];
    proxy.stream.on('data', (chunk: Buffer) => received.push(chunk));
    const packets = Array.from({ length: 500 }, (_, i) => Buffer.from(`packet ${i} ${'x'.repeat(i % 97)}\n`));
    // All written in one tick, as ssh2 does with a burst of packets: the Duplex batches them (writev).
    for (const p of packets) proxy.stream.write(p);
    proxy.stream.end();
    await once(proxy.stream, 'end');
    assert.equal(Buffer.concat(received).toString(), Buffer.concat(packets).toString());
    proxy.kill();
  });

  test('writes after the command died are dropped, not thrown', async () => {
    const proxy = spawnProxyCommand('exit 3', 'h', 22, 'root');
    await once(proxy.stream, 'close');
    proxy.stream.write(Buffer.from('late'));
    assert.match(proxy.exit() ?? '', /exit code 3/);
  });
});

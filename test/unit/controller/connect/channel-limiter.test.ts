import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ChannelLimiter } from '../../../../controller/connect/channel-limiter.ts';

test('at most N channels open; waiters get slots in order; release is idempotent', async () => {
  const limiter = new ChannelLimiter(2);
  const r1 = await limiter.acquire();
  const r2 = await limiter.acquire();
  const order: number[] = [];
  const queued = (n: number) =>
    limiter.acquire().then((release) => {
      order.push(n);
      return release;
    });
  const w3 = queued(3);
  const w4 = queued(4);
  await Promise.resolve();
  assert.deepEqual(order, []);
  r1();
  r1();
  const r3 = await w3;
  assert.deepEqual(order, [3]);
  assert.equal(limiter.open, 2);
  r2();
  const r4 = await w4;
  r3();
  r4();
  assert.equal(limiter.open, 0);
});

test('waiters are rejected when the connection is gone', async () => {
  const limiter = new ChannelLimiter(1);
  await limiter.acquire();
  const waiting = limiter.acquire();
  limiter.rejectWaiting(new Error('lost'));
  await assert.rejects(waiting, /lost/);
});

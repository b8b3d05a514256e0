import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { IdleTimer } from '../../../agent/idle.ts';

describe('IdleTimer', () => {
  let fired: number;
  let timer: IdleTimer | undefined;
  const start = (idleMs: number) => {
    timer = new IdleTimer(idleMs, () => fired++);
    return timer;
  };
  beforeEach(() => {
    fired = 0;
    mock.timers.enable({ apis: ['setTimeout'] });
  });
  afterEach(() => {
    timer?.stop();
    mock.timers.reset();
  });

  test('fires once the idle time has passed without a connection', () => {
    start(1000);
    mock.timers.tick(999);
    assert.equal(fired, 0);
    mock.timers.tick(1);
    assert.equal(fired, 1);
  });

  test('an open connection holds it, however long; the idle time counts from the last close', () => {
    const t = start(1000);
    mock.timers.tick(500);
    t.opened();
    t.opened();
    mock.timers.tick(5000);
    t.closed();
    mock.timers.tick(5000);
    assert.equal(fired, 0, 'one connection still open');
    t.closed();
    mock.timers.tick(999);
    assert.equal(fired, 0);
    mock.timers.tick(1);
    assert.equal(fired, 1);
  });

  test('a connection within the idle time restarts it', () => {
    const t = start(1000);
    mock.timers.tick(900);
    t.opened();
    t.closed();
    mock.timers.tick(900);
    assert.equal(fired, 0);
    mock.timers.tick(100);
    assert.equal(fired, 1);
  });

  test('unreachable: fires as soon as the last connection closes', () => {
    const t = start(60_000);
    t.opened();
    t.unreachable();
    mock.timers.tick(120_000);
    assert.equal(fired, 0, 'a request is still being served');
    t.closed();
    mock.timers.tick(0);
    assert.equal(fired, 1);
  });

  test('unreachable while idle fires at once', () => {
    start(60_000).unreachable();
    mock.timers.tick(0);
    assert.equal(fired, 1);
  });

  test('refuses a non-positive idle time', () => {
    assert.throws(() => new IdleTimer(0, () => {}), RangeError);
  });
});

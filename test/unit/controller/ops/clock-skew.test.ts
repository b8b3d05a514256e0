import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type ClockOffset,
  estimateOffset,
  formatOffset,
  judgeSkew,
} from '../../../../controller/ops/clock-skew.ts';

describe('estimateOffset', () => {
  test('uses the sample with the shortest round trip', () => {
    const o = estimateOffset([
      { sentAt: 1000, hostTime: 5600, receivedAt: 1200 },
      { sentAt: 2000, hostTime: 6405, receivedAt: 2010 },
    ]);
    assert.equal(o.offsetMs, 4400);
    assert.equal(o.errorMs, 5);
  });
  test('rejects an empty sample list', () => {
    assert.throws(() => estimateOffset([]));
  });
});

describe('judgeSkew', () => {
  const off = (offsetMs: number, errorMs = 1): ClockOffset => ({ offsetMs, errorMs });
  test('4.4 s on one host fails and names it', () => {
    const v = judgeSkew(
      new Map([
        ['h102', off(2)],
        ['docker', off(-3)],
        ['h104', off(4400)],
      ]),
    );
    assert.equal(v.status, 'fail');
    assert.equal(v.outlier, 'h104');
    assert.deepEqual(v.pair, ['docker', 'h104']);
    assert.equal(v.maxSkewMs, 4403);
  });
  test('0.7 s warns, 0.2 s passes', () => {
    assert.equal(
      judgeSkew(
        new Map([
          ['a', off(0)],
          ['b', off(700)],
        ]),
      ).status,
      'warn',
    );
    assert.equal(
      judgeSkew(
        new Map([
          ['a', off(0)],
          ['b', off(200)],
        ]),
      ).status,
      'ok',
    );
  });
  test('a wide error bound does not fail clocks that may agree', () => {
    assert.equal(
      judgeSkew(
        new Map([
          ['a', off(0, 400)],
          ['b', off(1200, 400)],
        ]),
      ).status,
      'ok',
    );
  });
  test('one host has no skew', () => {
    assert.equal(judgeSkew(new Map([['a', off(9999)]])).status, 'ok');
  });
});

test('formatOffset', () => {
  assert.equal(formatOffset({ offsetMs: 4400.4, errorMs: 1.2 }), '+4.400s ±0.001s');
  assert.equal(formatOffset({ offsetMs: -250, errorMs: 0 }), '-0.250s ±0.000s');
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatError, TskvError } from '../../../../controller/errors.ts';
import { EtcdError } from '../../../../controller/etcd/errors.ts';
import { waitFor } from '../../../../controller/wait.ts';

const fail = (etcdMessage: string, extra: Partial<ConstructorParameters<typeof EtcdError>[0]> = {}) =>
  new EtcdError({ kind: 'response', endpoint: 'h104', operation: 'member promote', etcdMessage, ...extra });

describe('EtcdError', () => {
  test('classifies etcd messages', () => {
    const notReady = fail('etcdserver: can only promote a learner member which is in sync with leader', {
      httpStatus: 412,
      grpcCode: 9,
    });
    assert.equal(notReady.isLearnerNotReady(), true);
    assert.equal(notReady.isMemberNotLearner(), false);
    assert.equal(fail('etcdserver: can only promote a learner member').isMemberNotLearner(), true);
    assert.equal(fail('etcdserver: unhealthy cluster').isUnhealthyCluster(), true);
    assert.equal(
      fail('etcdserver: re-configuration failed due to not enough started members').isUnhealthyCluster(),
      true,
    );
    assert.equal(fail('etcdserver: member not found').isMemberNotFound(), true);
    assert.equal(fail('etcdserver: Peer URLs already exists').isPeerUrlExists(), true);
    assert.equal(fail('etcdserver: too many learner members in cluster').isTooManyLearners(), true);
    assert.equal(fail('etcdserver: not leader').isNotLeader(), true);
    assert.equal(
      fail('etcdserver: rpc not supported for learner', { httpStatus: 503 }).isUnavailable(),
      true,
    );
    assert.equal(fail('etcdserver: member not found', { httpStatus: 404 }).isUnavailable(), false);
    assert.equal(
      new EtcdError({ kind: 'unreachable', endpoint: 'a', operation: 'x', etcdMessage: 'c' }).isNotSent(),
      true,
    );
  });

  test('is a TskvError that prints one line with host, step and a fix', () => {
    const err = fail('etcdserver: too many learner members in cluster');
    assert.ok(err instanceof TskvError);
    assert.equal(err.code, 'E_ETCD');
    assert.equal(
      formatError(err),
      'h104: etcd member promote: etcdserver: too many learner members in cluster\n' +
        '  fix: etcd allows one learner at a time: promote or remove the existing learner first',
    );
  });
});

describe('waitFor', () => {
  test('returns the first truthy value, treating errors as not yet', async () => {
    let n = 0;
    const value = await waitFor(
      () => {
        n++;
        if (n === 1) throw new Error('not up');
        return n >= 3 ? `ready after ${n}` : false;
      },
      { deadlineMs: 2000, intervalMs: 5, describe: 'three tries' },
    );
    assert.equal(value, 'ready after 3');
  });

  test('times out with the last error as cause', async () => {
    await assert.rejects(
      waitFor(
        () => {
          throw new Error('connection refused');
        },
        { deadlineMs: 50, intervalMs: 10, describe: 'etcd to answer', host: 'h102' },
      ),
      (err: unknown) => {
        assert.ok(err instanceof TskvError);
        assert.equal(err.code, 'E_TIMEOUT');
        assert.match(
          formatError(err),
          /^h102: timed out after 0\.1s \(\d+ tries\) waiting for etcd to answer: connection refused$/,
        );
        return true;
      },
    );
  });

  test('fatal errors stop at once', async () => {
    let n = 0;
    await assert.rejects(
      waitFor(
        () => {
          n++;
          throw new RangeError('bad');
        },
        { deadlineMs: 5000, intervalMs: 10, describe: 'x', isFatal: (e) => e instanceof RangeError },
      ),
      RangeError,
    );
    assert.equal(n, 1);
  });
});

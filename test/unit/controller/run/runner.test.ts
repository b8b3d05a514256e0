import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TskvError } from '../../../../controller/errors.ts';
import type { EtcdCluster } from '../../../../controller/etcd/index.ts';
import type { Step } from '../../../../controller/plan/plan.ts';
import { Journal } from '../../../../controller/run/journal.ts';
import { type Executor, runPlan } from '../../../../controller/run/runner.ts';

const hostStep = (kind: string, host: string, together?: string): Step => ({
  kind,
  host,
  title: `${kind} on ${host}`,
  ...(together ? { together } : {}),
});

/** An executor that records what ran, how many ran at once, and fails where told. */
function recorder(fail: (s: Step) => Error | undefined = () => undefined) {
  const ran: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const execute: Executor<Step> = async (s) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    // Let every step that may run alongside this one start before it ends.
    await new Promise((r) => setImmediate(r));
    inFlight--;
    const err = fail(s);
    if (err) throw err;
    ran.push(`${s.kind}@${s.host ?? 'cluster'}`);
    return [`did ${s.kind}`];
  };
  return { execute, ran, maxInFlight: () => maxInFlight };
}

describe('runPlan', () => {
  test('a group runs side by side, a lone step after every step before it; what each did, by host in step order', async () => {
    const steps = [
      hostStep('install', 'a', 'prepare'),
      hostStep('install', 'b', 'prepare'),
      hostStep('install', 'c', 'prepare'),
      hostStep('restart', 'a'),
      hostStep('restart', 'b'),
    ];
    const r = recorder();
    const result = await runPlan({ steps }, { mode: 'silent', execute: r.execute });
    assert.equal(result.error, undefined);
    assert.equal(r.maxInFlight(), 3);
    assert.deepEqual(r.ran.slice(3), ['restart@a', 'restart@b']);
    assert.deepEqual(result.actions, {
      a: ['did install', 'did restart'],
      b: ['did install', 'did restart'],
      c: ['did install'],
    });
    assert.deepEqual(result.steps.map((s) => s.index).sort(), [0, 1, 2, 3, 4]);
    assert.ok(result.steps.every((s) => s.ms >= 0 && s.title.endsWith(s.host!)));
  });

  test('at most `limit` hosts at once, unless the group must run all at once', async () => {
    const hosts = ['a', 'b', 'c', 'd', 'e'];
    const limited = recorder();
    await runPlan(
      { steps: hosts.map((h) => hostStep('install', h, 'prepare')) },
      { mode: 'silent', execute: limited.execute, limit: 2 },
    );
    assert.equal(limited.maxInFlight(), 2);
    const all = recorder();
    await runPlan(
      { steps: hosts.map((h) => ({ ...hostStep('start', h, 'start'), allAtOnce: true })) },
      { mode: 'silent', execute: all.execute, limit: 2 },
    );
    assert.equal(all.maxInFlight(), 5);
  });

  test('a failure: the rest of its group finishes, nothing after it runs, the error names host and step', async () => {
    const steps = [
      hostStep('install', 'a', 'prepare'),
      hostStep('install', 'b', 'prepare'),
      hostStep('install', 'c', 'prepare'),
      hostStep('start', 'a'),
    ];
    const r = recorder((s) => (s.host === 'b' ? new Error('disk full') : undefined));
    const result = await runPlan({ steps }, { mode: 'silent', execute: r.execute });
    assert.deepEqual(r.ran.sort(), ['install@a', 'install@c']);
    assert.ok(result.error instanceof TskvError);
    assert.equal(result.error.host, 'b');
    assert.equal(result.error.step, 'install on b');
    assert.equal(result.error.message, 'disk full');
    assert.deepEqual(Object.keys(result.actions).sort(), ['a', 'c']);
  });

  test('two failures in one group: one error naming both hosts under the group label', async () => {
    const steps = ['a', 'b', 'c'].map((h) => hostStep('install', h, 'prepare the hosts'));
    const r = recorder((s) =>
      s.host !== 'b' ? new TskvError('E_UPLOAD', `no space on ${s.host}`) : undefined,
    );
    const result = await runPlan({ steps }, { mode: 'silent', execute: r.execute });
    assert.equal(result.error!.code, 'E_UPLOAD');
    assert.equal(result.error!.step, 'prepare the hosts');
    assert.equal(result.error!.message, '2 steps failed:\na: no space on a\nc: no space on c');
  });

  test('onFailure reports instead (e.g. after a rollback), given the failures in plan order', async () => {
    const steps = [hostStep('x', 'a', 'g'), hostStep('x', 'b', 'g')];
    const r = recorder(() => new Error('boom'));
    const seen: number[] = [];
    const result = await runPlan(
      { steps },
      {
        mode: 'silent',
        execute: r.execute,
        onFailure: async (failures) => {
          seen.push(...failures.map((f) => f.index));
          return new TskvError('E_STEP_FAILED', 'rolled back');
        },
      },
    );
    assert.deepEqual(seen, [0, 1]);
    assert.equal(result.error!.message, 'rolled back');
  });

  test('beforeEachStep that throws (the lock was lost) stops the run before the step changes anything', async () => {
    const steps = [hostStep('config', 'a'), hostStep('restart', 'a')];
    const r = recorder();
    let asked = 0;
    const result = await runPlan(
      { steps },
      {
        mode: 'silent',
        execute: r.execute,
        beforeEachStep: () => {
          if (++asked === 2) throw new TskvError('E_LOCK_LOST', 'the cluster lock was lost');
        },
      },
    );
    assert.deepEqual(r.ran, ['config@a']);
    assert.equal(result.error!.code, 'E_LOCK_LOST');
    assert.equal(result.error!.host, 'a');
    assert.equal(result.error!.step, 'restart on a');
  });

  test('record and clear-record steps go to the journal, not the executor', async () => {
    const writes: (string | undefined)[] = [];
    let stored: string | undefined;
    const cluster = {
      swapIf: async (_key: string, expected: string | undefined, next: string | undefined) => {
        if (expected !== stored) return false;
        stored = next;
        writes.push(next);
        return true;
      },
    } as unknown as EtcdCluster;
    const steps: Step[] = [
      { kind: 'record', title: 'record the run', record: { pair: 'a=b' } } as Step,
      hostStep('add', 'b'),
      { kind: 'clear-record', title: 'clear the record' },
    ];
    const r = recorder();
    const result = await runPlan(
      { steps },
      { mode: 'silent', execute: r.execute, journal: new Journal(() => cluster) },
    );
    assert.equal(result.error, undefined);
    assert.deepEqual(r.ran, ['add@b']);
    assert.deepEqual(writes, ['{"pair":"a=b"}', undefined]);
    const without = await runPlan({ steps }, { mode: 'silent', execute: r.execute });
    assert.equal(without.error!.code, 'E_INTERNAL');
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TskvError } from '../../../../controller/errors.ts';
import type { Plan, Step } from '../../../../controller/plan/plan.ts';
import { applyChange, type ChangeOptions } from '../../../../controller/run/apply.ts';
import { expectTskvError } from '../../../fixtures/expect-tskv-error.ts';

const restart = (host: string): Step => ({ kind: 'restart', host, title: `restart etcd on ${host}` });

/** A change whose plans come from `plans` in turn; records what happened to the lock and the run. */
function change(plans: Plan[], overrides: Partial<ChangeOptions<Plan, string>> = {}) {
  const events: string[] = [];
  let next = 0;
  const options: ChangeOptions<Plan, string> = {
    lock: async () => {
      events.push('lock');
      return { release: () => events.push('release'), check: () => events.push('check') };
    },
    plan: async () => {
      events.push('plan');
      return plans[Math.min(next++, plans.length - 1)]!;
    },
    show: () => events.push('show'),
    dryRun: false,
    yes: false,
    question: () => ({ what: 'restart a member', rerun: 'tskv deploy inv.yaml --yes' }),
    run: async (plan, stillLocked) => {
      stillLocked();
      events.push(`run ${plan.steps.length}`);
      return 'done';
    },
    confirm: async () => {
      events.push('ask');
      return true;
    },
    ...overrides,
  };
  return { options, events };
}

describe('applyChange', () => {
  test('--dry-run: shown, no lock taken, nothing run', async () => {
    const c = change([{ steps: [restart('a')] }], { dryRun: true });
    const out = await applyChange(c.options);
    assert.equal(out.kind, 'dry-run');
    assert.deepEqual(c.events, ['plan', 'show']);
  });

  test('--yes: planned once under the lock, run with the lock checked, released', async () => {
    const c = change([{ steps: [restart('a')] }], { yes: true, confirm: undefined });
    const out = await applyChange(c.options);
    assert.deepEqual(out, { kind: 'ran', plan: { steps: [restart('a')] }, result: 'done' });
    assert.deepEqual(c.events, ['lock', 'plan', 'show', 'check', 'run 1', 'release']);
  });

  test('an answer at the prompt: planned again; the same plan runs', async () => {
    const c = change([{ steps: [restart('a')] }, { steps: [restart('a')] }]);
    assert.equal((await applyChange(c.options)).kind, 'ran');
    assert.deepEqual(c.events, ['lock', 'plan', 'show', 'ask', 'plan', 'check', 'run 1', 'release']);
  });

  test('the cluster changed while the prompt waited: E_PLAN_CHANGED naming the step, nothing run', async () => {
    const c = change([{ steps: [restart('a')] }, { steps: [restart('a'), restart('b')] }]);
    const err = await expectTskvError(applyChange(c.options));
    assert.equal(err.code, 'E_PLAN_CHANGED');
    assert.match(err.message, /step 2 "b: restart etcd on b" is new/);
    assert.deepEqual(c.events, ['lock', 'plan', 'show', 'ask', 'plan', 'release']);
  });

  test('declined: nothing run; an empty plan asks nothing', async () => {
    const no = change([{ steps: [restart('a')] }], { confirm: async () => false });
    assert.equal((await applyChange(no.options)).kind, 'declined');
    assert.deepEqual(no.events, ['lock', 'plan', 'show', 'release']);
    const empty = change([{ steps: [] }]);
    assert.equal((await applyChange(empty.options)).kind, 'ran');
    assert.ok(!empty.events.includes('ask'));
  });

  test('the lock is released when planning or running throws', async () => {
    const planFails = change([], {
      plan: async () => {
        throw new TskvError('E_NO_CLUSTER', 'no member answered');
      },
    });
    await expectTskvError(applyChange(planFails.options));
    assert.deepEqual(planFails.events, ['lock', 'release']);
    const runFails = change([{ steps: [restart('a')] }], {
      yes: true,
      run: async () => {
        throw new Error('boom');
      },
    });
    await assert.rejects(applyChange(runFails.options), /boom/);
    assert.deepEqual(runFails.events.at(-1), 'release');
  });
});

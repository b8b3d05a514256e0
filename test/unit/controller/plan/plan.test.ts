import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { groupSteps, planDifferences, type Step, stepLines } from '../../../../controller/plan/plan.ts';

const step = (kind: string, host: string | undefined, extra: Partial<Step> = {}): Step => ({
  kind,
  ...(host === undefined ? {} : { host }),
  title: `${kind} ${host ?? 'cluster'}`,
  ...extra,
});

describe('groupSteps', () => {
  test('consecutive steps with one label form a group; an unlabelled step is a group of its own', () => {
    const steps = [
      step('install', 'a', { together: 'prepare' }),
      step('install', 'b', { together: 'prepare' }),
      step('start', 'a'),
      step('start', 'b'),
      step('check', 'a', { together: 'prepare' }),
    ];
    assert.deepEqual(
      groupSteps(steps).map((g) => [g.label, g.indexes]),
      [
        ['prepare', [0, 1]],
        [undefined, [2]],
        [undefined, [3]],
        // The same label later is a new group: it runs after the steps between.
        ['prepare', [4]],
      ],
    );
  });
});

describe('planDifferences', () => {
  const a = [step('config', 'h1', { diff: '-x\n+y\n' }), step('restart', 'h1')];

  test('the same steps: none', () => {
    assert.deepEqual(planDifferences(a, structuredClone(a)), []);
  });

  test('a changed title, diff or kind; a step gone; a step new', () => {
    assert.deepEqual(planDifferences(a, [{ ...a[0]!, diff: '-x\n+z\n' }, a[1]!]), [
      'step 1 was "h1: config h1", is now "h1: config h1"',
    ]);
    assert.deepEqual(planDifferences(a, [a[0]!, { ...a[1]!, kind: 'start' }]), [
      'step 2 was "h1: restart h1", is now "h1: restart h1"',
    ]);
    assert.deepEqual(planDifferences(a, [a[0]!]), ['step 2 "h1: restart h1" is no longer needed']);
    assert.deepEqual(planDifferences(a, [...a, step('start', 'h2')]), ['step 3 "h2: start h2" is new']);
  });
});

describe('stepLines', () => {
  const steps = [step('config', 'h1', { diff: '-a\n+b\n' }), step('restart', 'h1')];

  test('numbered: each diff two columns in from its title', () => {
    assert.deepEqual(stepLines(steps), ['  1. config h1', '       -a', '       +b', '  2. restart h1']);
  });

  test('bulleted under a host, and without diffs', () => {
    assert.deepEqual(stepLines(steps, { indent: '    ', numbered: false }), [
      '    - config h1',
      '        -a',
      '        +b',
      '    - restart h1',
    ]);
    assert.deepEqual(stepLines(steps, { diffs: false }), ['  1. config h1', '  2. restart h1']);
  });
});

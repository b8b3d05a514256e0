import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { AllFailed, firstSuccess } from '../../../controller/first-success.ts';

/** An attempt per name: 'ok' answers at once, 'fail' fails at once, 'hang' never settles, 'late' answers after 300 ms. */
function scripted() {
  const asked: string[] = [];
  const attempt = (name: string): Promise<string> => {
    asked.push(name);
    if (name.startsWith('ok')) return Promise.resolve(name);
    if (name.startsWith('fail')) return Promise.reject(new Error(`${name} failed`));
    if (name.startsWith('late')) return delay(300).then(() => name);
    return new Promise(() => {});
  };
  return { asked, attempt };
}

test('the usual case: the first answers, no other is asked', async () => {
  const s = scripted();
  assert.equal(await firstSuccess(['ok1', 'ok2', 'ok3'], s.attempt, 1000), 'ok1');
  await delay(20);
  assert.deepEqual(s.asked, ['ok1']);
});

test('one that fails: the next is asked at once, not after the stagger', async () => {
  const s = scripted();
  const started = Date.now();
  assert.equal(await firstSuccess(['fail1', 'fail2', 'ok3'], s.attempt, 10_000), 'ok3');
  assert.ok(Date.now() - started < 1000);
  assert.deepEqual(s.asked, ['fail1', 'fail2', 'ok3']);
});

test('one that hangs: the next is asked after the stagger, and the first to answer wins', async () => {
  const s = scripted();
  const started = Date.now();
  assert.equal(await firstSuccess(['hang1', 'late2', 'ok3'], s.attempt, 100), 'ok3');
  assert.ok(Date.now() - started >= 190, 'ok3 was asked only after two staggers');
  assert.deepEqual(s.asked, ['hang1', 'late2', 'ok3']);
  const t = scripted();
  assert.equal(await firstSuccess(['hang1', 'late2', 'hang3'], t.attempt, 100), 'late2');
});

test('all fail: every error, in the order of the items', async () => {
  const s = scripted();
  const err = await firstSuccess(['fail1', 'fail2'], s.attempt, 1000).then(
    () => assert.fail('resolved'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof AllFailed);
  assert.deepEqual(
    err.errors.map((e) => (e as Error).message),
    ['fail1 failed', 'fail2 failed'],
  );
  assert.ok((await firstSuccess([], s.attempt, 10).catch((e: unknown) => e)) instanceof AllFailed);
});

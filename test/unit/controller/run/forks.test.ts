import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { InputError } from '../../../../controller/errors.ts';
import {
  defaultForks,
  eachBounded,
  forks,
  parseForks,
  setForks,
  takeForks,
} from '../../../../controller/run/forks.ts';

describe('--forks', () => {
  test('a whole number of at least 1; anything else is bad input, said plainly', () => {
    assert.equal(parseForks('1'), 1);
    assert.equal(parseForks('12'), 12);
    for (const bad of ['0', '-1', '1.5', 'abc', '', '1e3', undefined]) {
      assert.throws(
        () => parseForks(bad),
        (err: unknown) =>
          err instanceof InputError && /--forks needs a whole number of at least 1/.test(err.message),
        String(bad),
      );
    }
  });

  test('tskv with a bad --forks: exit 2, one line saying why, no stack trace', () => {
    const cli = resolve(import.meta.dirname, '../../../../controller/cli.ts');
    for (const args of [
      ['deploy', 'inv.yaml', '--forks', '0'],
      ['--forks=x', 'status', 'inv.yaml'],
    ]) {
      const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, /^tskv: --forks needs a whole number of at least 1, got '(0|x)'/);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });

  test('taken out of the command line wherever it is, but never after --', () => {
    assert.deepEqual(takeForks(['deploy', 'inv.yaml', '--forks', '3', '--yes']), {
      argv: ['deploy', 'inv.yaml', '--yes'],
      forks: 3,
    });
    assert.deepEqual(takeForks(['--forks=2', 'status', 'inv.yaml']), {
      argv: ['status', 'inv.yaml'],
      forks: 2,
    });
    assert.deepEqual(takeForks(['etcdctl', 'inv.yaml', '--', 'get', '--forks', '3']), {
      argv: ['etcdctl', 'inv.yaml', '--', 'get', '--forks', '3'],
      forks: undefined,
    });
    assert.throws(() => takeForks(['deploy', 'inv.yaml', '--forks']), InputError, 'a missing value');
  });

  test('the default follows the CPUs, within 8 and 32; --forks replaces it', () => {
    assert.equal(defaultForks(1), 8);
    assert.equal(defaultForks(2), 8);
    assert.equal(defaultForks(4), 16);
    assert.equal(defaultForks(64), 32);
    setForks(3);
    assert.equal(forks(), 3);
    setForks(undefined);
    assert.equal(forks(), defaultForks());
  });

  test('at most N at once, each in order, every outcome its own (a failure stops nothing)', async () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const gates = new Map<number, () => void>();
    const results = eachBounded([1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      running++;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => gates.set(n, resolve));
      running--;
      if (n === 2) throw new Error('host 2 failed');
      return n * 10;
    });
    const settled = Promise.allSettled(results);
    const open = async (n: number) => {
      while (!gates.has(n)) await new Promise((r) => setImmediate(r));
      gates.get(n)!();
    };
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [1, 2], 'two at once');
    await open(2);
    await open(1);
    await open(3);
    await open(4);
    await open(5);
    const out = await settled;
    assert.equal(most, 2);
    assert.deepEqual(started, [1, 2, 3, 4, 5]);
    assert.deepEqual(
      out.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message)),
      [10, 'host 2 failed', 30, 40, 50],
    );
  });
});

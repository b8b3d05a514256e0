import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseProcStat } from '../../../agent/system/proc-stat.ts';
import { mostSevereMessage, parseUnitShow } from '../../../agent/system/systemd.ts';
import { tailLines } from '../../../agent/system/tail.ts';

test('parseProcStat: command names with spaces and parentheses', () => {
  const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
  fields[0] = 'S';
  fields[1] = '77';
  fields[19] = '123456';
  assert.deepEqual(parseProcStat(`42 (we (ird) name) ${fields.join(' ')}`), {
    state: 'S',
    ppid: 77,
    startTime: 123456,
  });
  assert.equal(parseProcStat('garbage'), null);
});

test('parseUnitShow: main pid, states, restarts, how it ended, start time from the monotonic clock', () => {
  const text =
    'MainPID=4242\nActiveState=active\nSubState=running\nNRestarts=2\nResult=success\n' +
    'ExecMainStatus=0\nExecMainStartTimestampMonotonic=5000000\n';
  assert.deepEqual(parseUnitShow(text, 8_000_000n, 1_700_000_000_000), {
    mainPid: 4242,
    activeState: 'active',
    subState: 'running',
    restarts: 2,
    lastExit: undefined,
    startedAtMs: 1_700_000_000_000 - 3_000,
  });
  const failed =
    'MainPID=0\nActiveState=failed\nSubState=failed\nNRestarts=5\nResult=exit-code\n' +
    'ExecMainStatus=1\nExecMainStartTimestampMonotonic=0\n';
  assert.deepEqual(parseUnitShow(failed, 1n, 5), {
    mainPid: 0,
    activeState: 'failed',
    subState: 'failed',
    restarts: 5,
    lastExit: 'exit-code, status 1',
    startedAtMs: null,
  });
});

test('tailLines: last lines of a large file, [] for a missing one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-tail-'));
  try {
    const path = join(dir, 'etcd.log');
    writeFileSync(path, '');
    for (let i = 0; i < 5000; i++) appendFileSync(path, `line ${i} ${'x'.repeat(40)}\n`);
    const last = await tailLines(path, 3);
    assert.deepEqual(
      last.map((l) => l.split(' ').slice(0, 2).join(' ')),
      ['line 4997', 'line 4998', 'line 4999'],
    );
    assert.equal((await tailLines(path, 2000)).length, 2000);
    assert.deepEqual(await tailLines(join(dir, 'missing.log'), 5), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("mostSevereMessage: etcd's own crit line wins over its err lines and systemd's failure lines", () => {
  const entry = (PRIORITY: string, SYSLOG_IDENTIFIER: string, MESSAGE: unknown) =>
    JSON.stringify({ PRIORITY, SYSLOG_IDENTIFIER, MESSAGE });
  const journal = [
    entry('6', 'etcd', 'etcd Version: 3.4.23'),
    entry('3', 'etcd', 'an earlier error'),
    entry('2', 'etcd', 'listen tcp 198.18.27.104:2380: bind: address already in use'),
    entry('3', 'etcd', 'a later error'),
    entry('3', 'systemd', 'Failed to start etcd.service - etcd key-value store.'),
    entry('2', 'etcd', [1, 2, 3]), // a MESSAGE that is not UTF-8 comes as bytes
    'not json',
  ].join('\n');
  assert.equal(mostSevereMessage(journal), 'listen tcp 198.18.27.104:2380: bind: address already in use');
  assert.equal(
    mostSevereMessage([entry('3', 'etcd', 'first'), entry('3', 'etcd', 'second')].join('\n')),
    'second',
  );
  assert.equal(mostSevereMessage(entry('4', 'etcd', 'a warning')), undefined);
  assert.equal(mostSevereMessage(''), undefined);
});

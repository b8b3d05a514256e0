/** The one unified diff (agent/api): the agent's fileWrite replies and the controller's plans print it. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { unifiedDiff } from '../../../../agent/api/unified-diff.ts';

/** GNU diff -u's hunks (headers dropped), for comparison. */
function gnuDiff(a: string, b: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-diff-'));
  try {
    writeFileSync(join(dir, 'a'), a);
    writeFileSync(join(dir, 'b'), b);
    try {
      execFileSync('diff', ['-u', join(dir, 'a'), join(dir, 'b')], { encoding: 'utf8' });
      return '';
    } catch (err) {
      return String((err as { stdout: string }).stdout)
        .split('\n')
        .slice(2)
        .join('\n');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const lines = (n: number, edit: (i: number) => string | null = (i) => `line ${i}`) =>
  Array.from({ length: n }, (_, i) => edit(i))
    .filter((l) => l !== null)
    .map((l) => `${l}\n`)
    .join('');

const cases: [string, string, string][] = [
  ['equal', 'a\n', 'a\n'],
  ['new file', '', 'a\nb\n'],
  ['emptied', 'a\nb\n', ''],
  ['one change in the middle', lines(20), lines(20, (i) => (i === 10 ? 'changed' : `line ${i}`))],
  ['two far changes: two hunks', lines(30), lines(30, (i) => (i === 2 || i === 25 ? `x${i}` : `line ${i}`))],
  ['close changes: one hunk', lines(30), lines(30, (i) => (i === 10 || i === 15 ? `x${i}` : `line ${i}`))],
  ['insertions and deletions', lines(12), lines(12, (i) => (i % 4 === 0 ? null : `line ${i}`)) + 'tail\n'],
];

for (const [name, a, b] of cases) {
  test(`unified diff like diff -u: ${name}`, () => {
    const ours = unifiedDiff(a, b, '/f');
    if (a === b) return assert.equal(ours, '');
    assert.equal(ours.split('\n').slice(0, 2).join('\n'), '--- /f\n+++ /f');
    assert.equal(ours.split('\n').slice(2).join('\n'), gnuDiff(a, b));
  });
}

test('unifiedDiff: equal texts give nothing', () => {
  assert.equal(unifiedDiff('a\nb\n', 'a\nb\n', '/f'), '');
});

test('unifiedDiff: a new file is all additions', () => {
  assert.equal(unifiedDiff(undefined, 'a\nb\n', '/f'), '--- /dev/null\n+++ /f\n@@ -0,0 +1,2 @@\n+a\n+b\n');
});

test('unifiedDiff: one changed line among many, three lines of context, separate hunks', () => {
  const old = Array.from({ length: 20 }, (_, i) => `line${i}`);
  const neu = [...old];
  neu[2] = 'changed2';
  neu[15] = 'changed15';
  const d = unifiedDiff(`${old.join('\n')}\n`, `${neu.join('\n')}\n`, '/etc/etcd/etcd.env');
  assert.equal(
    d,
    [
      '--- /etc/etcd/etcd.env',
      '+++ /etc/etcd/etcd.env',
      '@@ -1,6 +1,6 @@',
      ' line0',
      ' line1',
      '-line2',
      '+changed2',
      ' line3',
      ' line4',
      ' line5',
      '@@ -13,7 +13,7 @@',
      ' line12',
      ' line13',
      ' line14',
      '-line15',
      '+changed15',
      ' line16',
      ' line17',
      ' line18',
      '',
    ].join('\n'),
  );
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { unifiedDiff } from '../../../agent/unified-diff.ts';

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

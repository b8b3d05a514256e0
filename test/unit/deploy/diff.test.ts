import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unifiedDiff } from '../../../controller/plan/diff.ts';

test('unifiedDiff: equal texts give nothing', () => {
  assert.equal(unifiedDiff('/f', 'a\nb\n', 'a\nb\n'), '');
});

test('unifiedDiff: a new file is all additions', () => {
  assert.equal(unifiedDiff('/f', undefined, 'a\nb\n'), '--- /dev/null\n+++ /f\n@@ -0,0 +1,2 @@\n+a\n+b\n');
});

test('unifiedDiff: one changed line among many, three lines of context, separate hunks', () => {
  const old = Array.from({ length: 20 }, (_, i) => `line${i}`);
  const neu = [...old];
  neu[2] = 'changed2';
  neu[15] = 'changed15';
  const d = unifiedDiff('/etc/etcd/etcd.env', `${old.join('\n')}\n`, `${neu.join('\n')}\n`);
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

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closest, editDistance } from '../../../../controller/inventory/suggest.ts';

test('edit distance counts insertions, deletions, substitutions and swaps', () => {
  assert.equal(editDistance('address', 'address'), 0);
  assert.equal(editDistance('adress', 'address'), 1);
  assert.equal(editDistance('prot', 'port'), 1);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
});

test('closest suggests only likely typos, ignoring case', () => {
  const keys = ['token', 'clientPort', 'peerPort'];
  assert.equal(closest('clientport', keys), 'clientPort');
  assert.equal(closest('tokn', keys), 'token');
  assert.equal(closest('monitoring', keys), undefined);
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { shellJoin, shellQuote } from '../../../../controller/render/shell-quote.ts';

const echoBack = (cmd: string): string => execFileSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });

describe('shellQuote', () => {
  test('safe words stay plain, others are single-quoted', () => {
    assert.equal(shellQuote('/var/lib/etcd'), '/var/lib/etcd');
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
  });
  test('round-trips awkward strings through a real sh', () => {
    for (const word of ["it's", 'a b', '$HOME', '`id`', '"q"', 'x\ny', '*', '; rm -rf /', "'", '\\']) {
      assert.equal(echoBack(`printf %s ${shellQuote(word)}`), word);
    }
    assert.equal(echoBack(`printf '%s|' ${shellJoin(['a b', "c'd"])}`), "a b|c'd|");
  });
});

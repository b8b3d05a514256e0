import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InputError } from '../../../../controller/errors.ts';
import { InventoryError, parseInventory } from '../../../../controller/inventory/load.ts';

// Each bad/NAME.yaml.txt has a sibling NAME.expected holding the exact error message: one
// `NAME.yaml:line:col: message` line per problem. The inputs end in .txt so that the linter and
// formatter (which read *.yaml) neither reject the broken ones nor shift the columns of the rest. They are
// read as bytes, as loadInventory reads them, so that a case can hold bytes that are not UTF-8.
const dir = join(import.meta.dirname, 'bad');
const cases = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml.txt'))
  .map((f) => f.replace(/\.txt$/, ''))
  .sort();

describe('bad inventories', () => {
  test('the corpus has at least 30 cases', () => {
    assert.ok(cases.length >= 30, `only ${cases.length} cases`);
  });

  for (const file of cases) {
    test(file, () => {
      const bytes = readFileSync(join(dir, `${file}.txt`));
      const expected = readFileSync(join(dir, file.replace(/\.yaml$/, '.expected')), 'utf8').trimEnd();
      assert.throws(
        () => parseInventory(bytes, file),
        (err: unknown) => {
          assert.ok(err instanceof InventoryError, `not an InventoryError: ${String(err)}`);
          assert.ok(err instanceof InputError);
          assert.equal(err.exitCode, 2);
          assert.equal(err.message, expected);
          assert.equal(err.problems.length, expected.split('\n').length);
          return true;
        },
      );
    });
  }
});

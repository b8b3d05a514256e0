import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstInvalidUtf8 } from '../../../../controller/inventory/utf8.ts';

const fatal = new TextDecoder('utf-8', { fatal: true });
const decodes = (bytes: Uint8Array) => {
  try {
    fatal.decode(bytes);
    return true;
  } catch {
    return false;
  }
};

test('firstInvalidUtf8 finds the first byte TextDecoder refuses', () => {
  assert.equal(firstInvalidUtf8(Buffer.from('plain, grüße, ✓, 🙂', 'utf8')), -1);
  assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xff])), 1);
  assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xc3])), 1); // cut off at the end
  assert.equal(firstInvalidUtf8(Buffer.from([0xc3, 0x61])), 0); // cut off by ASCII
  assert.equal(firstInvalidUtf8(Buffer.from([0xc0, 0xae])), 0); // overlong '.'
  assert.equal(firstInvalidUtf8(Buffer.from([0xe0, 0x80, 0xae])), 0); // overlong, 3 bytes
  assert.equal(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80])), 0); // a surrogate
  assert.equal(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80])), 0); // above U+10FFFF
  assert.equal(firstInvalidUtf8(Buffer.from([0xef, 0xbf, 0xbf])), -1); // U+FFFF is well formed

  // Random byte strings, biased towards UTF-8's lead and continuation bytes: the same verdict as TextDecoder,
  // and everything before the reported byte decodes.
  let seed = 42;
  const next = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 8;
  };
  for (let run = 0; run < 20_000; run++) {
    const bytes = Uint8Array.from({ length: next() % 8 }, () => {
      const r = next() % 4;
      return r === 0 ? next() % 0x80 : r === 1 ? 0x80 + (next() % 0x40) : 0xc0 + (next() % 0x40);
    });
    const at = firstInvalidUtf8(bytes);
    assert.equal(at === -1, decodes(bytes), `${Buffer.from(bytes).toString('hex')}: ${at}`);
    if (at >= 0) assert.ok(decodes(bytes.subarray(0, at)), Buffer.from(bytes).toString('hex'));
  }
});

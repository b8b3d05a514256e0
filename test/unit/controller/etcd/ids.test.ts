import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InputError } from '../../../../controller/errors.ts';
import { hexToId, idToHex, idToPaddedHex, isHexId } from '../../../../controller/etcd/ids.ts';

// The seed's member IDs (etcdctl prints them as unpadded lowercase hex).
const SEED = ['1b80a88a471eb4b8', '84099faad6d56427', '940f6e83e019a03f', 'cdc1e5e338e27adc'];

describe('etcd IDs', () => {
  test('hex and decimal round-trip without precision loss for the seed IDs', () => {
    for (const hex of SEED) {
      const dec = hexToId(hex);
      assert.match(dec, /^[0-9]+$/);
      assert.equal(BigInt(dec), BigInt(`0x${hex}`));
      assert.equal(idToHex(dec), hex);
    }
    assert.equal(hexToId('84099faad6d56427'), '9514311243894449191');
    assert.notEqual(String(Number(hexToId('84099faad6d56427'))), hexToId('84099faad6d56427'));
  });

  test('IDs that real etcd 3.4 returned', () => {
    assert.equal(idToHex('7383792418829112008'), '667880157b8812c8');
    assert.equal(idToHex('2722768518444269518'), '25c9378aab7cbfce');
  });

  test('hex is unpadded, except in the %16x form', () => {
    assert.equal(idToHex('255'), 'ff');
    assert.equal(idToHex(1n), '1');
    assert.equal(idToPaddedHex(hexToId('74de06e38ff30a0')), ' 74de06e38ff30a0');
    assert.equal(idToPaddedHex(hexToId('84099faad6d56427')), '84099faad6d56427');
  });

  test('accepts upper case and 0x, rejects junk and overflow', () => {
    assert.equal(hexToId('0x84099FAAD6D56427'), hexToId('84099faad6d56427'));
    assert.equal(hexToId('FFFFFFFFFFFFFFFF'), '18446744073709551615');
    assert.throws(() => hexToId('xyz'), InputError);
    assert.throws(() => hexToId('1ffffffffffffffff'), InputError);
    assert.throws(() => idToHex('18446744073709551616'), InputError);
    assert.throws(() => idToHex('-1'), InputError);
    assert.equal(isHexId('cdc1e5e338e27adc'), true);
    assert.equal(isHexId('new-h102'), false);
  });
});

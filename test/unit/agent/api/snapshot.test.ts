import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  parseSnapshotName,
  SNAPSHOT_SPARE_BYTES,
  snapshotFileName,
  snapshotRoomNeeded,
  snapshotsToPrune,
  snapshotToken,
} from '../../../../agent/api/snapshot.ts';

describe('snapshot file names', () => {
  test('token, UTC time to the second and revision; parsed back', () => {
    const at = new Date('2026-12-04T19:33:18.456Z');
    const name = snapshotFileName('tskv-prod', at, 1234);
    assert.equal(name, 'tskv-prod-20261204T193318Z-rev1234.db');
    const p = parseSnapshotName(name);
    assert.equal(p?.token, 'tskv-prod');
    assert.equal(p?.revision, 1234);
    assert.equal(p?.takenAt.toISOString(), '2026-12-04T19:33:18.000Z');
  });

  test('a token unfit for a file name is made safe', () => {
    assert.equal(snapshotToken('a/b c'), 'a_b_c');
    assert.equal(snapshotToken(''), 'etcd');
    assert.equal(snapshotToken(undefined), 'etcd');
    assert.equal(snapshotToken('..x'), 'etcd..x');
  });

  test('names tskv does not give are not snapshots', () => {
    for (const n of [
      'x.db',
      'tok-20261204T193318Z-rev1.db.part',
      'tok-20261204T193318Z-rev1.db.sha256',
      '.take-ab.db.part',
      'tok-20261304T193318Z-rev1.db',
    ]) {
      assert.equal(parseSnapshotName(n), undefined, n);
    }
  });
});

describe('which snapshots keep removes', () => {
  const names = [
    'c-20261204T100000Z-rev30.db',
    'c-20261204T090000Z-rev20.db',
    'c-20261204T110000Z-rev40.db',
    'c-20261204T080000Z-rev10.db',
    'c-20261204T080000Z-rev10.db.sha256',
    'notes.txt',
    'c-20261204T120000Z-rev50.db',
  ];

  test('all but the newest keep, by the time in the name, other files untouched', () => {
    assert.deepEqual(snapshotsToPrune(names, 2).sort(), [
      'c-20261204T080000Z-rev10.db',
      'c-20261204T090000Z-rev20.db',
      'c-20261204T100000Z-rev30.db',
    ]);
    assert.deepEqual(snapshotsToPrune(names, 5), []);
    assert.deepEqual(snapshotsToPrune(names, 4), ['c-20261204T080000Z-rev10.db']);
  });

  test('another token (a restored cluster) counts as well; same second: the lower revision goes', () => {
    const same = [
      'old-20261204T100000Z-rev7.db',
      'new-20261204T100000Z-rev9.db',
      'new-20261204T090000Z-rev99.db',
    ];
    assert.deepEqual(snapshotsToPrune(same, 1).sort(), [
      'new-20261204T090000Z-rev99.db',
      'old-20261204T100000Z-rev7.db',
    ]);
  });
});

test('room for a snapshot: its database with a tenth to spare, and a fixed margin', () => {
  assert.equal(snapshotRoomNeeded(0), SNAPSHOT_SPARE_BYTES);
  assert.equal(snapshotRoomNeeded(100 * 1024 * 1024), 110 * 1024 * 1024 + SNAPSHOT_SPARE_BYTES);
});

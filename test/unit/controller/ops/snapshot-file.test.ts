import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { checkSnapshotStream, otherCluster } from '../../../../controller/ops/snapshot-file.ts';

const MEMBER =
  '{"id":13668033151171901709,"peerURLs":["https://10.0.0.2:2380"],"name":"h102","clientURLs":["https://10.0.0.2:2379"]}';

/** A database as etcd's API saves one: bolt's magic after the first page header, a member record, then the sha256 trailer. */
function snapshotBytes(pages = 5, record = MEMBER): Buffer {
  const db = Buffer.alloc(pages * 4096);
  db.writeUInt32LE(0xed0cdaed, 16);
  db.write(`bdae9bbc11dd390d${record}`, 3 * 4096 + 1000, 'latin1');
  return Buffer.concat([db, createHash('sha256').update(db).digest()]);
}

async function* chunked(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

describe('checkSnapshotStream', () => {
  test('an intact snapshot: size, sha256 of the whole file, its member, whatever the chunk sizes', async () => {
    const data = snapshotBytes();
    for (const size of [1 << 20, 4096, 1000, 31, 33, 7]) {
      const r = await checkSnapshotStream(chunked(data, size));
      assert.equal(r.ok, true, `chunks of ${size}`);
      if (!r.ok) continue;
      assert.equal(r.size, data.length);
      assert.equal(r.sha256, createHash('sha256').update(data).digest('hex'));
      assert.deepEqual(r.members, [
        { id: '13668033151171901709', name: 'h102', peerURLs: ['https://10.0.0.2:2380'] },
      ]);
    }
  });

  test('truncated: the trailer no longer matches', async () => {
    const data = snapshotBytes();
    const r = await checkSnapshotStream(chunked(data.subarray(0, data.length - 4096), 4096));
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.problem, /truncated or corrupt/);
  });

  test('one byte flipped in the middle: corrupt', async () => {
    const data = Buffer.from(snapshotBytes());
    data[8000] = data[8000]! ^ 0xff;
    const r = await checkSnapshotStream(chunked(data, 1000));
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.problem, /not the sha256 of the rest/);
  });

  test('a db file copied from a data dir (no trailer) is refused', async () => {
    const data = snapshotBytes();
    const r = await checkSnapshotStream(chunked(data.subarray(0, data.length - 32), 4096));
    assert.equal(r.ok, false);
  });

  test('not a bolt database, or too short', async () => {
    const text = Buffer.alloc(5 * 4096, 'x');
    const notBolt = Buffer.concat([text, createHash('sha256').update(text).digest()]);
    const r = await checkSnapshotStream(chunked(notBolt, 4096));
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.problem, /does not start as an etcd \(bolt\) database/);
    const short = await checkSnapshotStream(chunked(Buffer.from('hello'), 4096));
    assert.equal(short.ok, false);
    if (!short.ok) assert.match(short.problem, /5 bytes long: too short/);
    const empty = await checkSnapshotStream(chunked(Buffer.alloc(0), 4096));
    assert.equal(empty.ok, false);
  });
});

describe('otherCluster', () => {
  const hosts = [
    { name: 'h102', peerUrl: 'https://10.0.0.2:2380' },
    { name: 'h104', peerUrl: 'https://10.0.0.4:2380' },
  ];
  const member = (name: string, url: string) => ({ id: '1', name, peerURLs: [url] });

  test('ours: a member with an inventory host name and peer address (the scheme may differ)', () => {
    assert.equal(otherCluster([member('h102', 'https://10.0.0.2:2380')], hosts), undefined);
    assert.equal(otherCluster([member('h104', 'http://10.0.0.4:2380')], hosts), undefined);
  });

  test("another cluster's: names or addresses that are not the inventory's", () => {
    assert.match(
      otherCluster([member('other', 'http://127.0.0.1:23801')], hosts)!,
      /other http:\/\/127\.0\.0\.1:23801/,
    );
    assert.match(
      otherCluster([member('h102', 'https://10.9.9.9:2380')], hosts)!,
      /none of the inventory's hosts/,
    );
    assert.match(otherCluster([], hosts)!, /records no members/);
  });
});

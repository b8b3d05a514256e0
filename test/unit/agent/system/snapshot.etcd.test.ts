/** Snapshots of a real etcd on loopback taken as the agent takes them (skipped without an etcd binary). */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { layoutUnder } from '../../../../agent/policy/layout.ts';
import { listSnapshots, takeSnapshot } from '../../../../agent/system/snapshot.ts';
import { digestSnapshot } from '../../../../agent/system/snapshot-file.ts';
import { EtcdClient } from '../../../../controller/etcd/client.ts';
import { type EtcdBinaries, findEtcd, LocalEtcd } from '../../controller/etcd/local-etcd.ts';

const found = findEtcd();
const skip = 'skip' in found ? found.skip : !(found as EtcdBinaries).etcdctl ? 'no etcdctl' : false;
const bin = found as EtcdBinaries;

describe('snapshots of a local member', { skip }, () => {
  let local: LocalEtcd;
  let layout: ReturnType<typeof layoutUnder>;
  let clock = Date.parse('2026-12-04T10:00:00Z');
  const now = () => {
    clock += 60_000;
    return new Date(clock);
  };

  before(async () => {
    local = await LocalEtcd.cluster(bin, ['solo']);
    layout = layoutUnder(join(local.root, 'host'));
    mkdirSync(layout.binDir, { recursive: true });
    symlinkSync(bin.etcdctl!, join(layout.binDir, 'etcdctl'));
    const etcdutl = join(dirname(bin.etcdctl!), 'etcdutl');
    try {
      statSync(etcdutl);
      symlinkSync(etcdutl, join(layout.binDir, 'etcdutl'));
    } catch {}
    mkdirSync(layout.configDir, { recursive: true });
    const m = local.member('solo');
    writeFileSync(
      layout.envFile,
      `ETCD_LISTEN_CLIENT_URLS=${m.clientUrl}\nETCD_DATA_DIR=${m.dataDir}\nETCD_INITIAL_CLUSTER_TOKEN=tok/1\n`,
    );
    const client = new EtcdClient(local.endpoint('solo'), { timeoutMs: 30_000 });
    for (let i = 0; i < 20; i++) await client.put(`/k/${i}`, `v${i}`);
  });
  after(async () => {
    await local?.cleanup();
  });

  test('take: a checked file named for its revision, 0600 in a 0700 folder, beside its sha256', async () => {
    const r = await takeSnapshot(layout, { requireHealthy: true, now });
    const s = r.snapshot;
    // etcdutl where the release has it (3.5+), else etcdctl.
    const utl = existsSync(join(layout.binDir, 'etcdutl'));
    assert.match(r.checkedWith, utl ? /\/etcdutl$/ : /\/etcdctl$/);
    assert.match(s.path, /\/tok_1-20261204T100100Z-rev\d+\.db$/);
    assert.ok(s.revision >= 21, `revision ${s.revision}`);
    assert.ok(s.keys >= 20, `keys ${s.keys}`);
    assert.equal(statSync(s.path).mode & 0o777, 0o600);
    assert.equal(statSync(layout.snapshotDir).mode & 0o777, 0o700);
    assert.equal(statSync(s.path).size, s.size);
    const sum = execFileSync('sha256sum', [s.path], { encoding: 'utf8' }).split(' ')[0];
    assert.equal(s.sha256, sum);
    assert.equal(readFileSync(`${s.path}.sha256`, 'utf8'), `${sum}  ${s.path.split('/').at(-1)}\n`);
    assert.deepEqual(
      readdirSync(layout.snapshotDir).filter((n) => n.includes('part')),
      [],
    );
  });

  test('keep: the newest stay, older ones and their sha256 go; list shows them newest first with room', async () => {
    for (let i = 0; i < 3; i++) await takeSnapshot(layout, { requireHealthy: true, now, keep: 2 });
    const names = readdirSync(layout.snapshotDir).sort();
    assert.equal(names.filter((n) => n.endsWith('.db')).length, 2, names.join(' '));
    assert.equal(names.filter((n) => n.endsWith('.sha256')).length, 2, names.join(' '));
    const list = await listSnapshots(layout);
    assert.deepEqual(
      list.snapshots.map((s) => s.takenAt),
      ['2026-12-04T10:04:00.000Z', '2026-12-04T10:03:00.000Z'],
    );
    assert.ok(list.snapshots.every((s) => /^[0-9a-f]{64}$/.test(s.sha256 ?? '')));
    assert.ok(list.dbBytes! > 0 && list.neededBytes! > list.dbBytes! && list.freeBytes > 0);
  });

  test("a truncated or altered snapshot fails the check against etcd's own sha256", async () => {
    const [first] = (await listSnapshots(layout)).snapshots;
    const copy = join(local.root, 'copy.db');
    copyFileSync(first!.path, copy);
    assert.equal((await digestSnapshot(copy)).sha256, first!.sha256);
    const size = statSync(copy).size;
    const bytes = readFileSync(copy);
    bytes[4096] = bytes[4096]! ^ 0xff;
    writeFileSync(copy, bytes);
    await assert.rejects(digestSnapshot(copy), /corrupt/);
    truncateSync(copy, size - 512);
    await assert.rejects(digestSnapshot(copy), /corrupt/);
    truncateSync(copy, size - 100);
    await assert.rejects(digestSnapshot(copy), /truncated/);
  });

  test('a stopped member: refused with the reason, nothing left behind', async () => {
    await local.stop('solo');
    await assert.rejects(takeSnapshot(layout, { requireHealthy: true, now }), /not healthy/);
    await assert.rejects(takeSnapshot(layout, { requireHealthy: false, now }), /does not answer/);
    assert.equal(readdirSync(layout.snapshotDir).length, 4);
  });
});

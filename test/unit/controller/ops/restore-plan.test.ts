import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TskvError } from '../../../../controller/errors.ts';
import {
  agreeingStatus,
  planRestore,
  type RestoreInput,
  restoreToken,
  roomProblems,
  WAL_SEGMENT_BYTES,
} from '../../../../controller/ops/restore-plan.ts';

const members = ['h102', 'docker', 'h104'].map((name, i) => ({
  name,
  peerUrl: `https://10.0.0.${i + 2}:2380`,
}));
const snapshot = {
  file: '/ops/snap.db',
  remote: '/var/lib/tskv/snapshots/restore-0123456789abcdef.db',
  size: 1_000_000,
  sha256: '0123456789abcdef'.repeat(4),
  revision: 1002,
  totalKey: 1010,
};

function input(hosts: Partial<RestoreInput['hosts'][number]>[], currentRevision?: number): RestoreInput {
  return {
    hosts: members.map((m, i) => ({
      name: m.name,
      dataDir: '/var/lib/etcd/data',
      running: true,
      hasData: true,
      ...hosts[i],
    })),
    members,
    snapshot,
    currentRevision,
    token: 'c1-restored-20261204T201500Z',
    snapshotFirst: true,
    healthy: currentRevision !== undefined,
  };
}

describe('planRestore', () => {
  test('a live cluster: stop all, move every data dir aside, restore each with the new token, start together, verify', () => {
    const plan = planRestore(input([], 1003));
    assert.deepEqual(
      plan.steps.map((s) => `${s.kind}${'host' in s ? ` ${s.host}` : ''}`),
      [
        'snapshot-current',
        'stop h102',
        'stop docker',
        'stop h104',
        'move-aside h102',
        'move-aside docker',
        'move-aside h104',
        'restore h102',
        'restore docker',
        'restore h104',
        'start h102',
        'start docker',
        'start h104',
        'verify',
      ],
    );
    const restore = plan.steps.find((s) => s.kind === 'restore' && s.host === 'docker');
    assert.ok(restore?.kind === 'restore');
    assert.deepEqual(restore.request, {
      file: snapshot.remote,
      dataDir: '/var/lib/etcd/data',
      name: 'docker',
      initialCluster: members,
      initialClusterToken: 'c1-restored-20261204T201500Z',
    });
    assert.ok(plan.steps.filter((s) => s.kind === 'start').every((s) => s.kind === 'start' && s.allAtOnce));
    assert.match(
      plan.rollback,
      /at revision 1003, the snapshot at 1002: 1 revisions of writes since the snapshot are rolled back/,
    );
  });

  test('a disaster (nothing runs, data gone): no stop, nothing to move aside, the revision unknown', () => {
    const plan = planRestore(
      input([
        { running: false, hasData: false },
        { running: false, hasData: false },
        { running: false, hasData: true },
      ]),
    );
    assert.deepEqual(
      plan.steps
        .filter((s) => s.kind === 'stop' || s.kind === 'move-aside')
        .map((s) => `${s.kind} ${'host' in s ? s.host : ''}`),
      ['move-aside h104'],
    );
    assert.match(plan.rollback, /no member answered, so the current revision is unknown/);
    assert.ok(!plan.steps.some((s) => s.kind === 'snapshot-current'), 'nothing answers: nothing to snapshot');
  });
});

test('--no-snapshot: no snapshot of the current data first', () => {
  const plan = planRestore({ ...input([], 1003), snapshotFirst: false });
  assert.equal(plan.steps[0]!.kind, 'stop');
});

test('members answer but none is healthy (a restore stopped half way): no snapshot first, said as a warning', () => {
  const plan = planRestore({ ...input([], 7), healthy: false });
  assert.equal(plan.steps[0]!.kind, 'stop');
  assert.match(plan.warnings[0]!, /no member is healthy, so the current data is not snapshotted first/);
});

describe('restoreToken', () => {
  test('the inventory token, then the UTC time; at most 128 bytes', () => {
    const at = new Date('2026-12-04T20:15:00.123Z');
    assert.equal(restoreToken('etcd-cluster-1', at), 'etcd-cluster-1-restored-20261204T201500Z');
    assert.equal(restoreToken('x'.repeat(128), at).length, 128);
    assert.ok(restoreToken('x'.repeat(128), at).endsWith('-restored-20261204T201500Z'));
    // Cut by bytes, between characters: 'é' is two.
    const cut = restoreToken('é'.repeat(100), at);
    assert.ok(Buffer.byteLength(cut) <= 128 && Buffer.byteLength(cut) >= 127, cut);
    assert.match(cut, /^é+-restored-/);
  });
});

describe('roomProblems', () => {
  const space = (free: number, device: number, at: string) => ({ freeBytes: free, device, measuredAt: at });
  const size = 10 * 1024 * 1024;
  test('one file system: the copy and the restored data dir (with its WAL segment) together', () => {
    const need = size + size + WAL_SEGMENT_BYTES;
    const ok = { host: 'h102', snapshotDir: space(need, 1, '/var/lib'), dataDir: space(need, 1, '/var/lib') };
    assert.deepEqual(roomProblems([ok], size), []);
    const short = {
      ...ok,
      dataDir: space(need - 1, 1, '/var/lib'),
      snapshotDir: space(need - 1, 1, '/var/lib'),
    };
    assert.match(
      roomProblems([short], size)[0]!,
      /^h102: \/var\/lib has 84\.0 MB free; the snapshot's copy and the restored data dir need 84\.0 MB$/,
    );
  });
  test('two file systems: each its own part', () => {
    const s = {
      host: 'h104',
      snapshotDir: space(size - 1, 1, '/var/lib/tskv/snapshots'),
      dataDir: space(size, 2, '/data'),
    };
    const problems = roomProblems([s], size);
    assert.equal(problems.length, 2);
    assert.match(
      problems[0]!,
      /h104: \/var\/lib\/tskv\/snapshots has 10\.0 MB free; the snapshot's copy needs 10\.0 MB/,
    );
    assert.match(problems[1]!, /h104: \/data has 10\.0 MB free; the restored data dir needs 74\.0 MB/);
  });
});

describe('agreeingStatus', () => {
  test('the same bytes read the same everywhere; a host that reads otherwise is named', () => {
    const st = { revision: 5, totalKey: 9, hash: 77 };
    assert.equal(
      agreeingStatus([
        { host: 'a', status: st },
        { host: 'b', status: { ...st } },
      ]),
      st,
    );
    assert.throws(
      () =>
        agreeingStatus([
          { host: 'a', status: st },
          { host: 'b', status: { ...st, hash: 78 } },
        ]),
      (e: unknown) =>
        e instanceof TskvError && e.code === 'E_SNAPSHOT_CORRUPT' && /on a .* and b/.test(e.message),
    );
  });
});

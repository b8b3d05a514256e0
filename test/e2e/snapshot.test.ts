/**
 * Snapshots: `tskv snapshot save` streams a checked snapshot to the controller and keeps it on the
 * host; list and fetch; no room on the controller or on the hosts is refused before anything is
 * written; a replace and a deploy that restarts members each leave a snapshot on a host, and with
 * snapshots.keep 5 exactly the newest 5 stay after 7 changes.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TSKV_SNAPSHOT_DIR } from '../../agent/api/index.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { tskv } from './cli.ts';
import { assertDeployed, deploy } from './deploy-helpers.ts';
import { assertOk } from './replace-helpers.ts';

const NAME = 'e2e-snap';
const HOSTS = ['h102', 'docker', 'h104', 'h105'];

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

describe('snapshots: save, list, fetch, room, automatic before changes, keep', {
  skip: labUnavailableReason() ?? false,
}, () => {
  let lab: Lab;
  let etcd: { version: string; source: string };
  let three: string;
  const timings: string[] = [];
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      timings.push(`${what}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
  };

  /** The inventory of `hosts` (of the lab's four) with keep 5 and `flags`. */
  const inventory = (file: string, hosts: string[], flags: Record<string, number> = {}) =>
    lab.writeInventory(
      {
        etcd: { ...etcd, flags },
        snapshots: { keep: 5 },
        hosts: Object.fromEntries(HOSTS.filter((h) => !hosts.includes(h)).map((h) => [h, null])),
      },
      file,
    );
  const onHost = async (host: string) =>
    (await lab.host(host).execOk(`ls -1 ${TSKV_SNAPSHOT_DIR} 2>/dev/null || true`))
      .split('\n')
      .filter((n) => n.endsWith('.db'))
      .sort();

  before(async () => {
    lab = await timed('lab up', () => Lab.up({ name: NAME, hosts: HOSTS, fresh: true }));
    const tarball = await lab.etcdTarball('3.4');
    etcd = { version: tarball.version, source: tarball.path };
    three = inventory('three.yaml', ['h102', 'docker', 'h104']);
    assertDeployed(await timed('first deploy', () => deploy(three)));
    for (let i = 0; i < 3; i++) {
      assertOk(await tskv(['etcdctl', three, '--', 'put', `/snap/${i}`, `v${i}`]), 'put');
    }
  });
  after(async () => {
    process.stderr.write(`e2e-snap timings:\n  ${timings.join('\n  ')}\n`);
    await Lab.down(NAME);
  });

  test('save: streamed here and verified, kept on the host (0600 in 0700), printed; list and fetch', async () => {
    const r = await timed('snapshot save --json', () => tskv(['snapshot', 'save', three, '--json']));
    assertOk(r, 'snapshot save');
    const s = JSON.parse(r.stdout) as {
      file: string;
      host: string;
      path: string;
      size: number;
      revision: number;
      keys: number;
      sha256: string;
    };
    assert.equal(s.host, 'h102');
    assert.match(s.file, /\/snapshots\/[^/]+-\d{8}T\d{6}Z-rev\d+\.db$/);
    assert.ok(s.keys >= 3 && s.revision >= 4, `keys ${s.keys}, revision ${s.revision}`);
    assert.equal(statSync(s.file).size, s.size);
    assert.equal(await sha256File(s.file), s.sha256);
    assert.deepEqual(
      readdirSync(join(s.file, '..')).filter((n) => n.endsWith('.part')),
      [],
      'no .part left',
    );
    const h = lab.host('h102');
    assert.equal((await h.execOk(`stat -c %a ${TSKV_SNAPSHOT_DIR}`)).trim(), '700');
    assert.equal((await h.execOk(`stat -c %a ${s.path}`)).trim(), '600');
    assert.equal((await h.execOk(`sha256sum ${s.path}`)).split(' ')[0], s.sha256);

    const text = await tskv(['snapshot', 'save', three]);
    assertOk(text, 'snapshot save');
    assert.match(
      text.stdout,
      /^saved \S+\.db: \d+ bytes \([\d.]+ MiB\), revision \d+, \d+ keys, sha256 [0-9a-f]{64} \(taken on h102, kept there as \S+\)\n$/,
    );

    const list = await tskv(['snapshot', 'list', three]);
    assertOk(list, 'snapshot list');
    assert.match(list.stdout, /^WHERE\s+PATH\s+TIME\s+REVISION\s+SIZE/);
    assert.ok(
      list.stdout.includes(`h102        ${s.path}`) || new RegExp(`h102\\s+${s.path}`).test(list.stdout),
      list.stdout,
    );
    assert.match(list.stdout, new RegExp(`controller\\s+${s.file}`));

    const out = join(lab.layout.dir, 'fetched.db');
    rmSync(out, { force: true }); // an earlier run's
    const f = await tskv(['snapshot', 'fetch', three, `h102:${s.path}`, '--out', out]);
    assertOk(f, 'snapshot fetch');
    assert.equal(await sha256File(out), s.sha256);
    const again = await tskv(['snapshot', 'fetch', three, `h102:${s.path}`, '--out', out]);
    assert.equal(again.code, 1, 'an existing file is never overwritten');
    assert.match(again.stderr, /already exists/);
    const bad = await tskv(['snapshot', 'fetch', three, 'h102:/etc/shadow']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /not a snapshot in \/var\/lib\/tskv\/snapshots/);
  });

  test('no room on the controller or on every host: refused before anything is written', async () => {
    const before = await onHost('h102');
    const small = join(lab.layout.dir, 'small');
    mkdirSync(small, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]);
    try {
      const r = await tskv(['snapshot', 'save', three, '--out', join(small, 'x.db')]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /no room for the snapshot in .*small on this machine/);
      assert.deepEqual(readdirSync(small), []);
    } finally {
      execFileSync('umount', [small]);
    }
    assert.deepEqual(await onHost('h102'), before, 'no snapshot taken on a host either');

    // A change that restarts members is refused while it plans: its first host has no room.
    const h102 = lab.host('h102');
    const env = await h102.execOk('cat /etc/etcd/etcd.env');
    await h102.execOk(
      `mkdir -p ${TSKV_SNAPSHOT_DIR} && mount -t tmpfs -o size=1m tmpfs ${TSKV_SNAPSHOT_DIR}`,
    );
    try {
      const flagged = inventory('room.yaml', ['h102', 'docker', 'h104'], { 'snapshot-count': 5_000 });
      const refused = await deploy(flagged, ['--yes']);
      assert.equal(refused.result.code, 1, refused.result.stderr);
      assert.equal(refused.doc.error?.code, 'E_SNAPSHOT_NO_ROOM', JSON.stringify(refused.doc.error));
      assert.match(
        refused.doc.error?.message ?? '',
        /no room for the snapshot this change takes first.*nothing was changed/,
      );
      assert.deepEqual(refused.doc.restarted, []);
      assert.equal(await h102.execOk('cat /etc/etcd/etcd.env'), env, 'nothing was changed');
    } finally {
      await h102.exec(`umount ${TSKV_SNAPSHOT_DIR}`);
    }

    const members = ['h102', 'docker', 'h104'].map((n) => lab.host(n));
    for (const m of members)
      await m.execOk(`mkdir -p ${TSKV_SNAPSHOT_DIR} && mount -t tmpfs -o size=1m tmpfs ${TSKV_SNAPSHOT_DIR}`);
    try {
      const r = await tskv(['snapshot', 'save', three]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /E_SNAPSHOT_NO_ROOM|no room/);
      assert.match(r.stderr, /h102: .*no room for a snapshot in \/var\/lib\/tskv\/snapshots/);
      for (const m of members)
        assert.equal((await m.execOk(`ls -A ${TSKV_SNAPSHOT_DIR}`)).trim(), '', m.name);
    } finally {
      for (const m of members) await m.exec(`umount ${TSKV_SNAPSHOT_DIR}`);
    }
    assert.deepEqual(await onHost('h102'), before);
  });

  test('a replace, certs rotate, deploys that restart members and a member remove each leave a snapshot (not with --no-snapshot); keep 5: after 7, exactly the newest 5 stay', async () => {
    // h104 leaves for h105: the snapshot is taken on the first healthy member staying (h102).
    const swapped = inventory('swapped.yaml', ['h102', 'docker', 'h105']);
    const before = await onHost('h102');
    const rep = await timed('replace h104=h105', () =>
      tskv(['replace', swapped, 'h104=h105', '--yes'], { timeoutMs: 300_000 }),
    );
    assertOk(rep, 'replace');
    assert.match(
      rep.stdout,
      /take a snapshot of the cluster's data into \/var\/lib\/tskv\/snapshots\/ \(the newest 5 are kept there\)/,
    );
    const afterReplace = await onHost('h102');
    const taken = afterReplace.filter((n) => !before.includes(n));
    assert.equal(taken.length, 1, `replace left one snapshot: ${afterReplace.join(' ')}`);
    const newest: string[] = [...taken];

    // certs rotate restarts every member: its plan starts with the snapshot.
    const beforeRotate = await onHost('h102');
    const rot = await timed('certs rotate', () =>
      tskv(['certs', 'rotate', swapped, '--yes'], { timeoutMs: 300_000 }),
    );
    assertOk(rot, 'certs rotate');
    assert.match(
      rot.stdout,
      /1\. h102: take a snapshot of the cluster's data into \/var\/lib\/tskv\/snapshots\//,
    );
    const rotated = (await onHost('h102')).filter((n) => !beforeRotate.includes(n));
    assert.equal(rotated.length, 1, 'certs rotate left one snapshot');
    newest.push(rotated[0]!);

    // --no-snapshot: the restarts go ahead without one, with a warning.
    const bare = await deploy(
      inventory('no-snapshot.yaml', ['h102', 'docker', 'h105'], { 'snapshot-count': 9_999 }),
      ['--yes', '--no-snapshot'],
    );
    assertDeployed(bare);
    assert.equal(bare.doc.restarted.length, 3);
    assert.match(bare.result.stderr, /warning: --no-snapshot: no snapshot is taken/);
    assert.equal(
      bare.doc.plan!.steps.some((s) => s.kind === 'snapshot'),
      false,
    );
    assert.deepEqual(
      (await onHost('h102')).filter((n) => !beforeRotate.includes(n)),
      rotated,
    );

    // Five deploys, each restarting the members for a new flag: each takes one snapshot first.
    for (let i = 1; i <= 5; i++) {
      const inv = inventory(`flags-${i}.yaml`, ['h102', 'docker', 'h105'], { 'snapshot-count': 10_000 + i });
      const before = await onHost('h102');
      const run = await timed(`deploy ${i} (rolling restart)`, () => deploy(inv, ['--yes']));
      assertDeployed(run);
      assert.equal(run.doc.restarted.length, 3);
      const snap = run.doc.plan!.steps.findIndex((s) => s.kind === 'snapshot');
      const firstRestart = run.doc.plan!.steps.findIndex((s) => s.kind === 'restart' || s.kind === 'config');
      assert.ok(
        snap >= 0 && snap < firstRestart,
        'the snapshot comes before the first change to a running member',
      );
      assert.equal(run.doc.plan!.steps[snap]!.host, 'h102');
      const now = await onHost('h102');
      const added = now.filter((n) => !before.includes(n));
      assert.equal(added.length, 1, `deploy ${i} left one snapshot: ${now.join(' ')}`);
      newest.push(added[0]!);
      assert.ok(now.length <= 5, `at most keep: ${now.length}`);
    }
    const left = await onHost('h102');
    assert.equal(left.length, 5, left.join(' '));
    assert.deepEqual(left, newest.slice(-5).sort(), 'the newest five stay');
    const sums = (await lab.host('h102').execOk(`ls -1 ${TSKV_SNAPSHOT_DIR}`))
      .split('\n')
      .filter((n) => n.endsWith('.sha256'));
    assert.equal(sums.length, 5, 'each kept snapshot has its .sha256, the removed ones none');

    // Nothing to change: no restart, so no snapshot.
    const idle = await deploy(
      inventory('flags-5.yaml', ['h102', 'docker', 'h105'], { 'snapshot-count': 10_005 }),
    );
    assertDeployed(idle);
    assert.deepEqual(await onHost('h102'), left);
    assert.equal(existsSync(three), true);

    // member remove: the snapshot first, on a member that stays; still the newest 5.
    const rm = await timed('member remove docker', () =>
      tskv(['member', 'remove', swapped, 'docker', '--yes']),
    );
    assertOk(rm, 'member remove');
    assert.match(rm.stdout, /1\. take a snapshot of the cluster's data into \/var\/lib\/tskv\/snapshots\//);
    assert.match(rm.stderr, /h102: snapshot h102:\/var\/lib\/tskv\/snapshots\/\S+ \(revision \d+, \d+ keys/);
    const afterRemove = await onHost('h102');
    assert.equal(afterRemove.length, 5, afterRemove.join(' '));
    assert.equal(afterRemove.filter((n) => !left.includes(n)).length, 1, 'member remove left one snapshot');
  });
});

/**
 * replace through a learner, killed at every step boundary and while the learner catches up, then
 * re-run: it resumes and finishes, under a writer, with no acknowledged write lost. With OLD
 * leading and gone from the inventory, at the boundaries where leadership matters. And a resumed
 * run whose new member cannot start rolls back instead of leaving a learner behind.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../controller/wait.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import {
  assertOk,
  deployedLab,
  type Live,
  names,
  openLive,
  SequentialWriter,
  tskv,
} from './replace-helpers.ts';
import { ClusterMonitor, type KillPoint, killedAt, pointLabel } from './sweep.ts';

const NAME = 'e2e-rlearner';

/** The replacement's steps when OLD's host is in the inventory (ops/replace-plan.ts learnerSteps). */
const LEARNER_STEPS = [
  // The automatic snapshot, on a healthy member that stays (SNAP: neither OLD nor NEW).
  'snapshot@SNAP',
  'record',
  'clear-host@NEW',
  'prepare-host@NEW',
  // TLS (tskv's default) narrows the firewalls: NEW is let in before it is added.
  'let-in@NEW',
  'add-member@NEW',
  'start-member@NEW',
  'wait-caught-up@NEW',
  'promote@NEW',
  'move-leader-away',
  'remove-member',
  'clear-host@OLD',
  'wait-healthy@NEW',
  'clear-record',
];

describe('replace resumes after the controller is killed at any step', {
  skip: labUnavailableReason() ?? false,
}, () => {
  let lab: Lab;
  let all: string;
  let live: Live;

  before(async () => {
    ({ lab, all } = await deployedLab(NAME, ['h102', 'docker', 'h104', 'h105']));
    live = await openLive(all);
  });
  after(async () => {
    await live?.close();
    await Lab.down(NAME);
  });

  async function lead(name: string): Promise<void> {
    const m = (await live.members()).find((x) => x.name === name)!;
    await live.live.cluster().moveLeader(m.id);
    await waitFor(async () => (await live.live.view()).leaderId === m.id, {
      deadlineMs: 10_000,
      describe: `${name} to lead`,
    });
  }

  /** Kills `replace INVENTORY OLD=NEW` at `point`, re-runs it, and checks the cluster it leaves. */
  async function killAndResume(inventory: string, old: string, nu: string, point: KillPoint, tag: string) {
    const monitor = await ClusterMonitor.watch(all, 3);
    const writer = new SequentialWriter(live.live.cluster(3000), `resume-replace/${tag}`, 20);
    let rerun: Awaited<ReturnType<typeof tskv>>;
    try {
      await killedAt(['replace', inventory, `${old}=${nu}`, '--yes'], point);
      rerun = await tskv(['replace', inventory, `${old}=${nu}`, '--yes']);
      assertOk(rerun, `re-run of replace ${old}=${nu} after a kill ${pointLabel(point)}`);
    } finally {
      await writer.stop();
      await monitor.stop();
    }
    const view = await live.live.view();
    const want = ['h102', 'docker', 'h104', 'h105'].filter((h) => h !== old).sort();
    assert.deepEqual(names(view.members), want, pointLabel(point));
    assert.ok(
      view.probes.every((p) => p.health.healthy && p.member.started && !p.member.isLearner),
      JSON.stringify(view.probes.map((p) => [p.member.name, p.health.detail])),
    );
    assert.equal(await live.live.readJournal(), undefined, 'the record is cleared');
    assert.deepEqual(await writer.lost(), [], `no acknowledged write lost (killed ${pointLabel(point)})`);
    return { rerun, writer, monitor };
  }

  describe('OLD a follower: killed before each step and while the learner catches up', () => {
    // One test per point: each has the per-test deadline to itself (the sweep is long on a slow day).
    const points: KillPoint[] = LEARNER_STEPS.map((_, i) => ({ before: String(i) }));
    points.push({ mid: 'wait-caught-up@NEW', line: 'has applied raft index' });
    let whileOut = 0;
    for (const [i, point] of points.entries()) {
      test(`killed ${pointLabel(point)}`, async () => {
        const [old, nu] = i % 2 === 0 ? ['h104', 'h105'] : ['h105', 'h104'];
        await lead('h102');
        if (i < 2) {
          // The kill points are this plan's steps, in both directions.
          const dry = await tskv(['replace', all, `${old}=${nu}`, '--dry-run', '--json']);
          const plan = JSON.parse(dry.stdout) as { plans: { steps: { kind: string; host?: string }[] }[] };
          assert.deepEqual(
            plan.plans[0]!.steps.map(
              (s) =>
                `${s.kind}${s.host ? `@${s.host === old ? 'OLD' : s.host === nu ? 'NEW' : 'SNAP'}` : ''}`,
            ),
            LEARNER_STEPS,
          );
        }
        const at: KillPoint =
          'before' in point
            ? point
            : { mid: point.mid.replace('NEW', nu), ...(point.line ? { line: point.line } : {}) };
        const { rerun, writer, monitor } = await killAndResume(all, old, nu, at, `follower-${i}`);
        // Killed before the snapshot (0) or the record (1), the re-run starts afresh; after, it resumes.
        if (i > 1) assert.match(rerun.stdout, /resuming an interrupted run/, pointLabel(at));
        assert.equal((await lab.host(old).exec('pgrep -x etcd')).code, 1, `etcd stopped on ${old}`);
        whileOut += writer.acknowledgedAt.filter((t) => monitor.degradedAt(t)).length;
      });
    }
    test('writes were acknowledged while a member was out', () => {
      assert.ok(whileOut > 0, `${whileOut}`);
    });
  });

  test('OLD the leader and gone from the inventory: killed as leadership moves, before the removal, and after it', async () => {
    for (const [i, point] of [
      { before: 'move-leader-away' },
      { before: 'remove-member' },
      { before: 'wait-healthy@NEW' },
    ].entries()) {
      // Members alternate: h102 docker h105 ⇄ h102 docker h104 (h104 and h105 take turns).
      const members = names(await live.members());
      const [old, nu] = members.includes('h104') ? ['h104', 'h105'] : ['h105', 'h104'];
      await lead(old);
      const without = lab.writeInventory({ hosts: { [old]: null } }, `without-${old}.yaml`);
      const at = 'before' in point ? { before: point.before.replace('NEW', nu) } : point;
      const { rerun } = await killAndResume(without, old, nu, at, `leader-${i}`);
      assert.match(rerun.stdout, /resuming an interrupted run/);
      const view = await live.live.view();
      assert.notEqual(view.members.find((m) => m.id === view.leaderId)?.name, old);
      // OLD's host is not in that inventory: its removed member stops by itself (its data dir stays,
      // and the next turn's clear-host moves it aside when OLD's host comes back as NEW).
      await lab.host(old).waitFor('the removed member to exit', '! pgrep -x etcd');
    }
  });

  test('a resumed run whose new member cannot start rolls back: the learner is removed and nothing else changed', async () => {
    const members = names(await live.members());
    const [old, nu] = members.includes('h104') ? ['h104', 'h105'] : ['h105', 'h104'];
    await killedAt(['replace', all, `${old}=${nu}`, '--yes'], { before: `start-member@${nu}` });
    const learner = (await live.members()).find((m) => m.isLearner);
    assert.ok(learner, 'the killed run left a learner');
    // The re-run gives the new member a flag etcd cannot parse: it never starts.
    const broken = lab.writeInventory(
      { etcd: { flags: { 'heartbeat-interval': 'often' } } },
      'broken-resume.yaml',
    );
    const r = await tskv(['replace', broken, `${old}=${nu}`, '--yes']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /resuming an interrupted run/);
    assert.match(
      r.stderr,
      new RegExp(
        `fix: rolled back: ${nu} was removed as a learner and its host was cleared; ${old} is still a member`,
      ),
    );
    const after = await live.members();
    assert.deepEqual(names(after), members);
    assert.ok(after.every((m) => m.started && !m.isLearner));
    assert.equal(await live.live.readJournal(), undefined);
    assert.equal((await lab.host(nu).exec('pgrep -x etcd')).code, 1, `etcd stopped on ${nu}`);
  });
});

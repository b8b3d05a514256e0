/**
 * replace through a learner, killed at every step boundary and while the learner catches up (each
 * kill of the re-run of the run killed before it), then re-run: it resumes and finishes, under a
 * writer, with no acknowledged write lost. With OLD leading and gone from the inventory, at the
 * boundaries where leadership matters. And a resumed run whose new member cannot start rolls back
 * instead of leaving a learner behind.
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
import { ClusterMonitor, type KillPoint, killedAt, killedInTurn, pointLabel } from './sweep.ts';

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

  /**
   * Kills `replace INVENTORY OLD=NEW` at each of `points` in turn (each run the re-run of the one
   * killed before it), re-runs it to the end, and checks the cluster it leaves.
   */
  async function killAndResume(inventory: string, old: string, nu: string, points: KillPoint[], tag: string) {
    const monitor = await ClusterMonitor.watch(all, 3);
    const writer = new SequentialWriter(live.live.cluster(3000), `resume-replace/${tag}`, 20);
    let killed: Awaited<ReturnType<typeof killedInTurn>>;
    let rerun: Awaited<ReturnType<typeof tskv>>;
    const last = pointLabel(points.at(-1)!);
    try {
      killed = await killedInTurn(['replace', inventory, `${old}=${nu}`, '--yes'], points);
      rerun = await tskv(['replace', inventory, `${old}=${nu}`, '--yes']);
      assertOk(rerun, `re-run of replace ${old}=${nu} after a kill ${last}`);
    } finally {
      await writer.stop();
      await monitor.stop();
    }
    const view = await live.live.view();
    const want = ['h102', 'docker', 'h104', 'h105'].filter((h) => h !== old).sort();
    assert.deepEqual(names(view.members), want, last);
    assert.ok(
      view.probes.every((p) => p.health.healthy && p.member.started && !p.member.isLearner),
      JSON.stringify(view.probes.map((p) => [p.member.name, p.health.detail])),
    );
    assert.equal(await live.live.readJournal(), undefined, 'the record is cleared');
    assert.deepEqual(await writer.lost(), [], `no acknowledged write lost (${tag})`);
    return { killed, rerun, writer, monitor };
  }

  describe('OLD a follower: killed before each step and while the learner catches up', () => {
    // Each kill is of the re-run of the run killed before it, in two chains: h104 replaced by h105
    // up to the promotion, then h105 by h104 from the leadership move on.
    const chains: { old: string; nu: string; points: KillPoint[]; fresh: number }[] = [
      {
        old: 'h104',
        nu: 'h105',
        points: [
          { before: '0' },
          { before: 'record' },
          ...['clear-host', 'prepare-host', 'let-in', 'add-member', 'start-member'].map((kind) => ({
            before: `${kind}@h105`,
          })),
          { mid: 'wait-caught-up@h105', line: 'has applied raft index' },
          { before: 'wait-caught-up@h105' },
          { before: 'promote@h105' },
        ],
        // Killed before the snapshot or the record, the re-run starts afresh; after, it resumes.
        fresh: 2,
      },
      {
        old: 'h105',
        nu: 'h104',
        points: [
          { before: 'move-leader-away' },
          { before: 'remove-member' },
          { before: 'clear-host@h105' },
          { before: 'wait-healthy@h104' },
          { before: 'clear-record' },
        ],
        fresh: 0,
      },
    ];
    let whileOut = 0;
    for (const [i, { old, nu, points, fresh }] of chains.entries()) {
      test(`${old}=${nu}, killed ${points.map(pointLabel).join(', then ')}`, async () => {
        await lead('h102');
        // The kill points are this plan's steps, in both directions.
        const dry = await tskv(['replace', all, `${old}=${nu}`, '--dry-run', '--json']);
        const plan = JSON.parse(dry.stdout) as { plans: { steps: { kind: string; host?: string }[] }[] };
        assert.deepEqual(
          plan.plans[0]!.steps.map(
            (s) => `${s.kind}${s.host ? `@${s.host === old ? 'OLD' : s.host === nu ? 'NEW' : 'SNAP'}` : ''}`,
          ),
          LEARNER_STEPS,
        );
        const { killed, rerun, writer, monitor } = await killAndResume(all, old, nu, points, `follower-${i}`);
        for (const [k, run] of killed.entries()) {
          if (k > fresh) assert.match(run.stdout, /resuming an interrupted run/, pointLabel(points[k]!));
          else assert.doesNotMatch(run.stdout, /resuming an interrupted run/, pointLabel(points[k]!));
        }
        assert.match(rerun.stdout, /resuming an interrupted run/);
        assert.equal((await lab.host(old).exec('pgrep -x etcd')).code, 1, `etcd stopped on ${old}`);
        whileOut += writer.acknowledgedAt.filter((t) => monitor.degradedAt(t)).length;
      });
    }
    test('writes were acknowledged while a member was out', () => {
      assert.ok(whileOut > 0, `${whileOut}`);
    });
  });

  test('OLD the leader and gone from the inventory: killed as leadership moves, then before the removal, then after it', async () => {
    const members = names(await live.members());
    const [old, nu] = members.includes('h104') ? ['h104', 'h105'] : ['h105', 'h104'];
    await lead(old);
    const without = lab.writeInventory({ hosts: { [old]: null } }, `without-${old}.yaml`);
    const points: KillPoint[] = [
      { before: 'move-leader-away' },
      { before: 'remove-member' },
      { before: `wait-healthy@${nu}` },
    ];
    const { killed, rerun } = await killAndResume(without, old, nu, points, 'leader');
    for (const run of killed.slice(1)) assert.match(run.stdout, /resuming an interrupted run/);
    assert.match(rerun.stdout, /resuming an interrupted run/);
    const view = await live.live.view();
    assert.notEqual(view.members.find((m) => m.id === view.leaderId)?.name, old);
    // OLD's host is not in that inventory: its removed member stops by itself (its data dir stays,
    // and the next replacement's clear-host moves it aside when OLD's host comes back as NEW).
    await lab.host(old).waitFor('the removed member to exit', '! pgrep -x etcd');
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

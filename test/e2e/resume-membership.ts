/**
 * The seed's in-place replacement and member add/remove, each killed at every step boundary (and
 * in the middle of its longest steps), each kill of the re-run of the run killed before it, then
 * re-run to the end: the re-run finishes the change, the cluster is whole and healthy, and no
 * acknowledged write is lost.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import {
  assertOk,
  deployedLab,
  type Live,
  names,
  openLive,
  renamedInventory,
  SequentialWriter,
  tskv,
} from './replace-helpers.ts';
import { ClusterMonitor, type KillPoint, killedInTurn, pointLabel } from './sweep.ts';

const NAME = 'e2e-rmember';

const IN_PLACE_STEPS = [
  'snapshot',
  'record',
  'prepare-host',
  'check-others-healthy',
  'move-leader-away',
  'remove-member',
  'clear-host',
  'add-member',
  'start-member',
  'wait-healthy',
  'clear-record',
];

describe('membership changes resume after the controller is killed at any step', {
  skip: labUnavailableReason() ?? false,
}, () => {
  let lab: Lab;
  let all: string;
  let three: string;
  let renamed: string;
  let live: Live;

  before(async () => {
    ({ lab, all, three } = await deployedLab(NAME, ['h102', 'docker', 'h104', 'h105']));
    const tarball = await lab.etcdTarball('3.4');
    renamed = renamedInventory(
      lab,
      { etcd: { version: tarball.version, source: tarball.path } },
      'h104',
      'new-h104',
    );
    live = await openLive(all);
  });
  after(async () => {
    await live?.close();
    await Lab.down(NAME);
  });

  /** Runs `work` under a writer and a monitor; checks that no acknowledged write was lost. */
  async function underLoad(tag: string, expected: number, work: () => Promise<void>): Promise<number> {
    const monitor = await ClusterMonitor.watch(all, expected);
    const writer = new SequentialWriter(live.live.cluster(3000), `resume-membership/${tag}`, 20);
    try {
      await work();
    } finally {
      await writer.stop();
      await monitor.stop();
    }
    assert.deepEqual(await writer.lost(), [], `no acknowledged write lost (${tag})`);
    return writer.acknowledgedAt.filter((t) => monitor.degradedAt(t)).length;
  }

  async function assertWhole(want: string[], context: string): Promise<void> {
    await live.waitAllHealthy();
    const view = await live.live.view();
    assert.deepEqual(names(view.members), [...want].sort(), context);
    assert.ok(
      view.probes.every((p) => p.member.started && !p.member.isLearner),
      context,
    );
    assert.equal(await live.live.readJournal(), undefined, context);
  }

  describe('in place (the seed: same address, a new name), killed before each step and while the new member starts and waits', () => {
    // Each kill is of the re-run of the run killed before it (all but a chain's first resume), in
    // two chains: h104 becomes new-h104 (killed up to the add), then back (from the start on).
    // Before the snapshot and before the record (a re-run that starts afresh): the learner sweep's
    // boundaries (resume-replace.ts), the same steps planned the same way.
    const chains: { forward: boolean; points: (nu: string) => KillPoint[] }[] = [
      {
        forward: true,
        points: (nu) => [
          { before: String(IN_PLACE_STEPS.indexOf('prepare-host')) },
          { before: 'check-others-healthy' },
          { before: 'move-leader-away' },
          { before: 'remove-member' },
          { before: `clear-host@${nu}` },
          { before: `add-member@${nu}` },
        ],
      },
      {
        forward: false,
        points: (nu) => [
          { before: String(IN_PLACE_STEPS.indexOf('start-member')) },
          { mid: `start-member@${nu}`, line: 'started' },
          { before: `wait-healthy@${nu}` },
          { mid: `wait-healthy@${nu}`, line: 'members healthy' },
          { before: 'clear-record' },
        ],
      },
    ];
    let whileOut = 0;
    for (const [i, chain] of chains.entries()) {
      const [old, nu] = chain.forward ? ['h104', 'new-h104'] : ['new-h104', 'h104'];
      test(`${old}=${nu}, killed ${chain.points(nu).map(pointLabel).join(', then ')}`, async () => {
        const inventory = chain.forward ? renamed : three;
        // The kill points are this plan's steps, in both directions.
        const dry = await tskv(['replace', inventory, `${old}=${nu}`, '--dry-run', '--json']);
        const plan = JSON.parse(dry.stdout) as { plans: { mode: string; steps: { kind: string }[] }[] };
        assert.equal(plan.plans[0]!.mode, 'in-place');
        assert.deepEqual(
          plan.plans[0]!.steps.map((s) => s.kind),
          IN_PLACE_STEPS,
        );
        const args = ['replace', inventory, `${old}=${nu}`, '--yes'];
        const points = chain.points(nu);
        whileOut += await underLoad(`in-place-${i}`, 3, async () => {
          const killed = await killedInTurn(args, points);
          // Each killed after the first found the record the first left.
          for (const [k, run] of killed.entries())
            if (k > 0) assert.match(run.stdout, /resuming an interrupted run/, pointLabel(points[k]!));
          const rerun = await tskv(args);
          assertOk(rerun, `re-run after a kill ${pointLabel(points.at(-1)!)}`);
        });
        await assertWhole(['h102', 'docker', nu], `in place ${old}=${nu}`);
      });
    }
    test('writes were acknowledged while a member was out; the data dirs were moved aside', async () => {
      assert.ok(whileOut > 0, `${whileOut}`);
      assert.match(await lab.host('h104').execOk('ls -d /var/lib/etcd/*.removed-*'), /h104\.etcd\.removed-/);
    });
  });

  test('member add --start killed before each step and in the middle of the start; member remove killed before each step', async () => {
    // Each kill is of the re-run of the run killed before it, as in place above.
    const add: KillPoint[] = ['clear-host', 'prepare-host', 'let-in', 'add-member', 'start-member'].map(
      (kind) => ({ before: `${kind}@h105` }),
    );
    add.push({ mid: 'start-member@h105', line: 'started' });
    const remove: KillPoint[] = [
      { before: '0' },
      { before: 'move-leader-away' },
      { before: 'remove-member' },
      // Removed, its host not yet cleared: the re-run clears it.
      { before: 'clear-host@h105' },
    ];
    const start = names(await live.members());
    await underLoad('add', 4, async () => {
      await killedInTurn(['member', 'add', all, 'h105', '--start', '--yes'], add);
      const rerun = await tskv(['member', 'add', all, 'h105', '--start', '--yes']);
      assertOk(rerun, `member add re-run after a kill ${pointLabel(add.at(-1)!)}`);
    });
    await assertWhole([...start, 'h105'], 'member add');
    await underLoad('remove', 3, async () => {
      await killedInTurn(['member', 'remove', all, 'h105', '--yes'], remove);
      const rerun = await tskv(['member', 'remove', all, 'h105', '--yes']);
      assertOk(rerun, `member remove re-run after a kill ${pointLabel(remove.at(-1)!)}`);
    });
    await assertWhole(start, 'member remove');
    assert.equal((await lab.host('h105').exec('pgrep -x etcd')).code, 1, 'etcd stopped on h105');
    assert.equal(
      (await lab.host('h105').exec('test -e /var/lib/etcd/h105.etcd')).code,
      1,
      'its data dir moved aside',
    );
  });
});

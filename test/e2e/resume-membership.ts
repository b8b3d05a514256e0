/**
 * The seed's in-place replacement and member add/remove, each killed at every step boundary (and
 * once in the middle of its longest step), then re-run: the re-run finishes the change, the
 * cluster is whole and healthy, and no acknowledged write is lost.
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
import { ClusterMonitor, type KillPoint, killedAt, pointLabel } from './sweep.ts';

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

  describe('in place (the seed: same address, a new name), killed before each step and while the new member starts', () => {
    // One test per point: each has the per-test deadline to itself (the sweep is long on a slow day).
    const points: KillPoint[] = IN_PLACE_STEPS.map((_, i) => ({ before: String(i) }));
    points.push({ mid: '9', line: 'members healthy' }, { mid: '8', line: 'started' });
    let whileOut = 0;
    for (const [i, point] of points.entries()) {
      test(`killed ${pointLabel(point)}`, async () => {
        const [inventory, old, nu] =
          i % 2 === 0 ? [renamed, 'h104', 'new-h104'] : [three, 'new-h104', 'h104'];
        if (i < 2) {
          // The kill points are this plan's steps, in both directions.
          const dry = await tskv(['replace', inventory, `${old}=${nu}`, '--dry-run', '--json']);
          const plan = JSON.parse(dry.stdout) as { plans: { mode: string; steps: { kind: string }[] }[] };
          assert.equal(plan.plans[0]!.mode, 'in-place');
          assert.deepEqual(
            plan.plans[0]!.steps.map((s) => s.kind),
            IN_PLACE_STEPS,
          );
        }
        whileOut += await underLoad(`in-place-${i}`, 3, async () => {
          await killedAt(['replace', inventory, `${old}=${nu}`, '--yes'], point);
          const rerun = await tskv(['replace', inventory, `${old}=${nu}`, '--yes']);
          assertOk(rerun, `re-run after a kill ${pointLabel(point)}`);
        });
        await assertWhole(['h102', 'docker', nu], `in place ${old}=${nu}, killed ${pointLabel(point)}`);
      });
    }
    test('writes were acknowledged while a member was out; the data dirs were moved aside', async () => {
      assert.ok(whileOut > 0, `${whileOut}`);
      assert.match(await lab.host('h104').execOk('ls -d /var/lib/etcd/*.removed-*'), /h104\.etcd\.removed-/);
    });
  });

  test('member add --start and member remove, each killed before each step and in the middle of the start', async () => {
    const add: KillPoint[] = [0, 1, 2, 3, 4].map((i) => ({ before: String(i) }));
    add.push({ mid: 'start-member@h105', line: 'started' });
    const remove: KillPoint[] = [0, 1, 2].map((i) => ({ before: String(i) }));
    const start = names(await live.members());
    for (const [i, addPoint] of add.entries()) {
      await underLoad(`add-${i}`, 4, async () => {
        await killedAt(['member', 'add', all, 'h105', '--start', '--yes'], addPoint);
        const rerun = await tskv(['member', 'add', all, 'h105', '--start', '--yes']);
        assertOk(rerun, `member add re-run after a kill ${pointLabel(addPoint)}`);
      });
      await assertWhole([...start, 'h105'], `member add, killed ${pointLabel(addPoint)}`);
      const removePoint = remove[i];
      await underLoad(`remove-${i}`, 3, async () => {
        if (removePoint) await killedAt(['member', 'remove', all, 'h105', '--yes'], removePoint);
        const rerun = await tskv(['member', 'remove', all, 'h105', '--yes']);
        assertOk(
          rerun,
          `member remove${removePoint ? ` re-run after a kill ${pointLabel(removePoint)}` : ''}`,
        );
      });
      await assertWhole(start, `member remove${removePoint ? `, killed ${pointLabel(removePoint)}` : ''}`);
      assert.equal((await lab.host('h105').exec('pgrep -x etcd')).code, 1, 'etcd stopped on h105');
      assert.equal(
        (await lab.host('h105').exec('test -e /var/lib/etcd/h105.etcd')).code,
        1,
        'its data dir moved aside',
      );
    }
  });
});

/**
 * deploy killed at every step boundary (and in the middle of its longest step), each kill of the
 * re-run of the run killed before it, then re-run: a fresh bootstrap and a rolling restart under
 * a writer. The re-run converges, the cluster is whole and healthy, no acknowledged write is lost,
 * and a rolling restart never has two members out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { assertDeployed, deploy } from './deploy-helpers.ts';
import { type Live, openLive, SequentialWriter } from './replace-helpers.ts';
import { ClusterMonitor, type KillPoint, killedInTurn } from './sweep.ts';

const NAME = 'e2e-rdeploy';

describe('deploy resumes after the controller is killed at any step', {
  skip: labUnavailableReason() ?? false,
}, () => {
  after(() => Lab.down(NAME));
  /** The lab the bootstrap left deployed (the rolling restart's, when it ran). */
  let deployed: Lab | undefined;

  test('a fresh bootstrap, killed before the hosts are prepared, then between certificates and config, then before the members start, then while they start', async () => {
    // Each kill is of the re-run of the run killed before it: one lab, one bootstrap.
    const points: KillPoint[] = [
      { before: '0' },
      // h104's certificates placed (tskv's default: TLS), its env file not yet written.
      { before: 'config@h104' },
      { before: 'start@h102' },
      { mid: 'start@docker', line: 'waiting until healthy' },
    ];
    const lab = await Lab.up({ name: NAME, fresh: true });
    const dry = await deploy(lab.inventoryPath, ['--dry-run']);
    assert.deepEqual(
      dry.doc.plan!.steps.map((s) => `${s.kind}@${s.host}`),
      ['h102', 'docker', 'h104']
        .flatMap((h) => [`install@${h}`, `firewall@${h}`, `tls@${h}`, `config@${h}`])
        .concat(['start@h102', 'start@docker', 'start@h104']),
    );
    await killedInTurn(['deploy', lab.inventoryPath, '--json'], points);
    const rerun = await deploy(lab.inventoryPath);
    assertDeployed(rerun);
    assert.equal(rerun.doc.verify!.members.length, 3);
    const again = await deploy(lab.inventoryPath);
    assertDeployed(again);
    assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
    deployed = lab;
  });

  describe('a rolling restart under a writer', () => {
    let lab: Lab;
    let live: Live;
    before(async () => {
      if (deployed) lab = deployed;
      else {
        lab = await Lab.up({ name: NAME, fresh: true });
        assertDeployed(await deploy(lab.inventoryPath));
      }
      live = await openLive(lab.inventoryPath);
    });
    after(() => live?.close());

    // The automatic snapshot, then config and restart of each member in turn: every kind of
    // boundary once (before the snapshot, snapshot→config, config→restart, restart→next config,
    // and the last member's restart, after leadership moved), and once while a member restarts.
    // The second member's config→restart and restart→config are the first one's again. Two changes,
    // each killed at three of them in turn (each kill of the re-run of the run killed before it).
    const chains: { at: number; mid?: true }[][] = [
      [{ at: 0 }, { at: 1 }, { at: 2 }],
      [{ at: 2, mid: true }, { at: 3 }, { at: 6 }],
    ];
    for (const [i, chain] of chains.entries()) {
      const label = chain
        .map(({ at, mid }) => `${mid ? 'in the middle of' : 'before'} ${at}`)
        .join(', then ');
      test(`killed ${label}: the re-run restarts the rest, one at a time, nothing lost`, async () => {
        const changed = lab.writeInventory(
          { etcd: { flags: { 'enable-v2': true, 'snapshot-count': 50_000 + i } } },
          `rolling-${i}.yaml`,
        );
        // The steps by name: a re-run's plan leaves out what the killed runs did.
        const plan = (await deploy(changed, ['--dry-run'])).doc.plan!.steps;
        assert.deepEqual(
          plan.map((s) => s.kind),
          ['snapshot', 'config', 'restart', 'config', 'restart', 'config', 'restart'],
        );
        const points: KillPoint[] = chain.map(({ at, mid }) => {
          const step = plan[at]!;
          const name = step.host ? `${step.kind}@${step.host}` : step.kind;
          return mid ? { mid: name, line: 'waiting until healthy' } : { before: name };
        });
        const monitor = await ClusterMonitor.watch(lab.inventoryPath, 3);
        const writer = new SequentialWriter(live.live.cluster(3000), `resume-rolling/${i}`, 20);
        try {
          await killedInTurn(['deploy', changed, '--yes', '--json'], points);
          const rerun = await deploy(changed, ['--yes']);
          assertDeployed(rerun);
          await live.waitAllHealthy();
        } finally {
          await writer.stop();
          await monitor.stop();
        }
        for (const h of lab.hosts) {
          assert.match(
            await h.execOk('cat /etc/etcd/etcd.env'),
            new RegExp(`^ETCD_SNAPSHOT_COUNT="${50_000 + i}"$`, 'm'),
          );
          // The etcd that runs has it too: a member whose file was written but that was not
          // restarted is not converged.
          const environ = await h.execOk("tr '\\0' '\\n' </proc/$(pgrep -x etcd)/environ");
          assert.match(environ, new RegExp(`^ETCD_SNAPSHOT_COUNT=${50_000 + i}$`, 'm'), `${h.name}'s etcd`);
        }
        assert.equal(
          monitor.maxDownAtOnce(),
          1,
          `one member out at a time: ${JSON.stringify([...monitor.everDown()])}`,
        );
        const whileOut = writer.acknowledgedAt.filter((t) => monitor.degradedAt(t)).length;
        assert.ok(
          whileOut > 0,
          `writes acknowledged while a member was out: ${whileOut} of ${writer.acknowledged.length}`,
        );
        assert.deepEqual(await writer.lost(), []);
        const again = await deploy(changed);
        assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
      });
    }
  });
});

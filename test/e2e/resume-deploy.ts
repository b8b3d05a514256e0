/**
 * deploy killed at every step boundary (and in the middle of its longest step), then re-run: a
 * fresh bootstrap and a rolling restart under a writer. The re-run converges, the cluster is whole
 * and healthy, no acknowledged write is lost, and a rolling restart never has two members out.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { assertDeployed, deploy } from './deploy-helpers.ts';
import { type Live, openLive, SequentialWriter } from './replace-helpers.ts';
import { ClusterMonitor, type KillPoint, killedAt, pointLabel } from './sweep.ts';

const NAME = 'e2e-rdeploy';

describe('deploy resumes after the controller is killed at any step', {
  skip: labUnavailableReason() ?? false,
}, () => {
  after(() => Lab.down(NAME));

  describe('a fresh bootstrap, killed before the hosts are prepared, between certificates and config, before the members start, and while they start', () => {
    const points: KillPoint[] = [
      { before: '0' },
      // h104's certificates placed (tskv's default: TLS), its env file not yet written.
      { before: 'config@h104' },
      { before: 'start@h102' },
      { mid: 'start@docker', line: 'waiting until healthy' },
    ];
    // One test per point: each has the per-test deadline to itself (the sweep is long on a slow day).
    for (const point of points) {
      test(`killed ${pointLabel(point)}`, async () => {
        const lab = await Lab.up({ name: NAME, fresh: true });
        const dry = await deploy(lab.inventoryPath, ['--dry-run']);
        assert.deepEqual(
          dry.doc.plan!.steps.map((s) => `${s.kind}@${s.host}`),
          ['h102', 'docker', 'h104']
            .flatMap((h) => [`install@${h}`, `firewall@${h}`, `tls@${h}`, `config@${h}`])
            .concat(['start@h102', 'start@docker', 'start@h104']),
        );
        await killedAt(['deploy', lab.inventoryPath, '--json'], point);
        const rerun = await deploy(lab.inventoryPath);
        assertDeployed(rerun);
        assert.equal(rerun.doc.verify!.members.length, 3, pointLabel(point));
        const again = await deploy(lab.inventoryPath);
        assertDeployed(again);
        assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged', pointLabel(point));
      });
    }
  });

  describe('a rolling restart under a writer', () => {
    let lab: Lab;
    let live: Live;
    before(async () => {
      lab = await Lab.up({ name: NAME, fresh: true });
      assertDeployed(await deploy(lab.inventoryPath));
      live = await openLive(lab.inventoryPath);
    });
    after(() => live?.close());

    // The automatic snapshot, then config and restart of each member in turn: every kind of
    // boundary once (before the snapshot, snapshot→config, config→restart, restart→next config,
    // and the last member's restart, after leadership moved), and once while a member restarts.
    // The second member's config→restart and restart→config are the first one's again.
    const points: KillPoint[] = [0, 1, 2, 3, 6].map((i) => ({ before: String(i) }));
    points.push({ mid: '2', line: 'waiting until healthy' });
    for (const [i, point] of points.entries()) {
      test(`killed ${pointLabel(point)}: the re-run restarts the rest, one at a time, nothing lost`, async () => {
        const changed = lab.writeInventory(
          { etcd: { flags: { 'enable-v2': true, 'snapshot-count': 50_000 + i } } },
          `rolling-${i}.yaml`,
        );
        const monitor = await ClusterMonitor.watch(lab.inventoryPath, 3);
        const writer = new SequentialWriter(live.live.cluster(3000), `resume-rolling/${i}`, 20);
        try {
          await killedAt(['deploy', changed, '--yes', '--json'], point);
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

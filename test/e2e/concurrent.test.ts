/**
 * Two operators at once: two deploys started together on bare hosts; one proceeds, the other fails
 * at once naming the holder, and the cluster ends healthy. A run that hangs holding the lock is
 * named too, and --break-lock ends its hold.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { DeployResult } from '../../controller/plays/deploy.ts';
import { waitFor } from '../../controller/wait.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { spawnTskv } from './cli.ts';
import { assertDeployed, deploy } from './deploy-helpers.ts';

const NAME = 'e2e-concurrent';

describe('two tskv runs at once', { skip: labUnavailableReason() ?? false }, () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.up({ name: NAME, fresh: true });
  });
  after(() => Lab.down(NAME));

  test('two deploys started together on bare hosts: one deploys, the other fails fast naming it', async () => {
    const first = spawnTskv(['deploy', lab.inventoryPath, '--json']);
    await delay(300);
    const second = spawnTskv(['deploy', lab.inventoryPath, '--json']);
    const endedAt: number[] = [];
    const results = await Promise.all(
      [first, second].map((run, i) =>
        run.exited.then((r) => {
          endedAt[i] = Date.now();
          return r;
        }),
      ),
    );
    const docs = results.map((r) => JSON.parse(r.stdout) as DeployResult);
    const won = docs.findIndex((d) => d.ok);
    assert.notEqual(won, -1, results.map((r) => r.stderr.slice(-2000)).join('\n---\n'));
    const lost = docs[1 - won]!;
    assert.equal(results[won]!.code, 0);
    assert.equal(results[1 - won]!.code, 1);
    assert.equal(lost.error?.code, 'E_LOCKED', JSON.stringify(lost.error));
    assert.match(
      lost.error!.message,
      /another tskv run is changing this cluster; nothing was changed: held by \S+@\S+ \(pid \d+, since [\d-]+T[\d:.]+Z\): tskv deploy /,
    );
    assert.match(lost.error!.fix ?? '', /--break-lock/);
    assert.ok(endedAt[1 - won]! < endedAt[won]!, 'the second run failed at once, while the first still ran');
    // The loser pushed no tarball (the lock comes first) and left no partial file behind.
    assert.deepEqual(
      lost.transfers.filter((t) => /etcd tarball/.test(t.what)),
      [],
    );
    for (const h of lab.hosts)
      assert.equal(await h.execOk('ls /var/lib/tskv/cache | grep -c ".tmp$" || true'), '0\n', h.name);
    const again = await deploy(lab.inventoryPath);
    assertDeployed(again);
    assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
  });

  test('a run that hangs holding the lock is named; --break-lock ends its hold and proceeds', async () => {
    const changed = lab.writeInventory({ etcd: { flags: { 'enable-v2': true, 'snapshot-count': 40_000 } } });
    const hung = spawnTskv(['deploy', changed, '--yes', '--json'], {
      seams: ['--before', '0', '--do', 'stop'],
    });
    try {
      await waitForLine(hung, /^seam: /m);
      const refused = await deploy(changed, ['--yes']);
      assert.equal(refused.result.code, 1);
      assert.equal(refused.doc.error?.code, 'E_LOCKED');
      const broken = await deploy(changed, ['--yes', '--break-lock']);
      assertDeployed(broken);
      assert.match(broken.result.stderr, /warning: broke the cluster lock of \S+@\S+ \(pid \d+/);
      assert.equal(broken.doc.restarted.length, 3);
    } finally {
      hung.kill('SIGKILL');
      await hung.exited;
    }
    const again = await deploy(changed);
    assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
  });
});

async function waitForLine(run: ReturnType<typeof spawnTskv>, pattern: RegExp): Promise<void> {
  await waitFor(() => pattern.test(run.stderr()), {
    deadlineMs: 60_000,
    intervalMs: 50,
    describe: `${pattern}`,
  });
}

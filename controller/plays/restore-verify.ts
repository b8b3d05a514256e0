/**
 * A restored cluster's proof: every member healthy and the member list the inventory's, the
 * snapshot's revision readable (etcd keeps a snapshot's revision across a restore), the keys
 * counted, and deploy's own verification (one leader, a key written and read back everywhere).
 */
import { describeCause, TskvError } from '../errors.ts';
import { JOURNAL_KEY, RECOVER_JOURNAL_KEY } from '../run/journal.ts';
import type { Progress } from '../run/progress.ts';
import { waitFor } from '../wait.ts';
import { memberListDiff, verifyCluster } from './deploy-verify.ts';
import type { LiveCluster } from './live-cluster.ts';

const RESTORED_DEADLINE_MS = 120_000;

export async function verifyRestored(
  live: LiveCluster,
  revision: number,
  progress: Progress,
): Promise<string[]> {
  const inv = live.session.inventory;
  let last = 'no member answered yet';
  await waitFor(
    async () => {
      try {
        const view = await live.view();
        const sick = view.probes.filter((p) => !p.health.healthy).map((p) => p.host ?? p.member.name);
        const diff = memberListDiff(inv, view.members);
        last = [...(sick.length ? [`not healthy: ${sick.join(', ')}`] : []), ...diff].join('; ');
      } catch (err) {
        last = describeCause(err);
      }
      progress(last || 'every member healthy');
      return last === '';
    },
    {
      deadlineMs: RESTORED_DEADLINE_MS,
      intervalMs: 500,
      describe: 'every restored member to be healthy with the inventory member list',
    },
  ).catch((err: unknown) => {
    throw new TskvError('E_VERIFY', `the restored cluster did not come up: ${last || describeCause(err)}`, {
      step: 'verify',
      fix: 'see tskv status and the member logs; the old data dirs are kept as <dataDir>.removed-<time>',
    });
  });
  const counted = await live.cluster().withFailover('count keys', (c) => c.countKeys(), { idempotent: true });
  if (counted.revision < revision) {
    throw new TskvError(
      'E_VERIFY',
      `the restored cluster is at revision ${counted.revision}, below the snapshot's ${revision}`,
      { step: 'verify' },
    );
  }
  const report = await verifyCluster(live);
  // Records of a replace or recover that was under way when the snapshot was taken: they name
  // members the restored cluster (new IDs) never had, so no run could finish them.
  const cleared: string[] = [];
  for (const key of [JOURNAL_KEY, RECOVER_JOURNAL_KEY]) {
    const n = await live.cluster().deleteKey(key);
    if (n > 0) cleared.push(`removed ${key} (restored from the snapshot; its run cannot resume here)`);
  }
  return [
    ...cleared,
    `restored: revision ${counted.revision} (the snapshot's ${revision}), ${counted.count} keys, ${report.members.length} members healthy, leader ${report.leader}`,
  ];
}

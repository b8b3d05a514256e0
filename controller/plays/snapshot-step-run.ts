/** Runs a plan's snapshot step (ops/snapshot-step.ts): on the host it names, else on another member. */
import { routes } from '../../agent/api/index.ts';
import { TskvError } from '../errors.ts';
import type { SnapshotStep } from '../ops/snapshot-step.ts';
import type { Step } from '../plan/plan.ts';
import type { Session } from './session.ts';
import { takeSnapshot } from './snapshot-take.ts';

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

export async function runSnapshotStep(session: Session, step: SnapshotStep): Promise<string[]> {
  const named = session.hosts.get(step.host);
  const others = [...session.hosts.values()].filter((ch) => ch !== named);
  const s = await takeSnapshot([...(named ? [named] : []), ...others], { keep: step.keep });
  return [
    `snapshot ${s.host}:${s.path} (revision ${s.revision}, ${s.keys} keys, ${mib(s.size)}, sha256 ${s.sha256.slice(0, 16)}…)`,
    ...s.removed.map((p) => `removed the older snapshot ${p}`),
  ];
}

/**
 * Refuses a plan whose snapshot step's host has no room for the snapshot, while nothing has run
 * yet (the agent would refuse it too, but only once the plan is under way).
 */
export async function refuseNoSnapshotRoom(session: Session, steps: readonly Step[]): Promise<void> {
  const snap = steps.find((s) => s.kind === 'snapshot');
  const ch = snap?.host === undefined ? undefined : session.hosts.get(snap.host);
  if (!ch) return;
  const room = await ch.agent.call(routes.snapshotList, {}, { step: 'check room for the snapshot' });
  if (room.neededBytes === null || room.freeBytes >= room.neededBytes) return;
  throw new TskvError(
    'E_SNAPSHOT_NO_ROOM',
    `no room for the snapshot this change takes first: ${mib(room.freeBytes)} free in ${room.dir}, a snapshot of the ${mib(room.dbBytes ?? 0)} database needs ${mib(room.neededBytes)}; nothing was changed`,
    {
      host: ch.spec.name,
      step: 'plan',
      fix: `free space in ${room.dir} (tskv snapshot list shows the snapshots there; a lower snapshots.keep keeps fewer), or run with --no-snapshot`,
    },
  );
}

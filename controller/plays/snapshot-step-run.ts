/** Runs a plan's snapshot step (ops/snapshot-step.ts): on the host it names, else on another member. */
import type { SnapshotStep } from '../ops/snapshot-step.ts';
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

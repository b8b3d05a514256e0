/**
 * Issue 14's figure: a rolling upgrade of a 3-member lab cluster from etcd 3.4 to 3.5 through
 * `tskv deploy INV --yes`, timed as the operator runs it, with client traffic through every
 * host's endpoint throughout (SSH tunnels to each host's loopback client port: traffic stays in
 * the lab). Per member: its restart step's time (switch, restart, healthy and caught up; the
 * leader's includes handing leadership over). Bringing the lab up and the 3.4 deploy are not timed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeCause } from '../../controller/errors.ts';
import type { DeployResult } from '../../controller/plays/deploy.ts';
import { Lab } from '../../lab/lab.ts';
import type { LoadCounts } from './client-load.ts';
import { clientLoad } from './replace-bench.ts';
import type { SeriesContext } from './series.ts';
import { summarize } from './stats.ts';
import { outputTail, TSKV, timedRun, timeline } from './timed-run.ts';

export interface UpgradeSample extends LoadCounts {
  from: string;
  to: string;
  /** The whole `tskv deploy` process. */
  ms: number;
  /** Each member's restart step, in rolling order. */
  members: { host: string; ms: number; leader: boolean }[];
  lostWrites: number;
}

/** One rolling upgrade 3.4 → 3.5 on a fresh 3-host lab. */
export async function upgradeOnce(
  labName: string,
  run: number,
  ctx: Pick<SeriesContext, 'log' | 'logDir'>,
): Promise<UpgradeSample> {
  const { log } = ctx;
  const lab = await Lab.up({ name: labName, fresh: true });
  const [v34, v35] = [await lab.etcdTarball('3.4'), await lab.etcdTarball('3.5')];
  const inv34 = lab.writeInventory({ etcd: { version: v34.version, source: v34.path } }, 'bench-v34.yaml');
  const inv35 = lab.writeInventory({ etcd: { version: v35.version, source: v35.path } }, 'bench-v35.yaml');
  const deployed = await timedRun(TSKV, ['deploy', inv34, '--yes']);
  if (deployed.code !== 0) throw new Error(`deploy of ${v34.version} failed:\n${outputTail(deployed)}`);
  const { load, close } = await clientLoad(inv34, `tskv-bench/upgrade-${run}`);
  try {
    if (!(await load.warmedUp()))
      throw new Error('the client load got no write acknowledged before the upgrade');
    log(`  deploy ${v34.version} → ${v35.version} (client load running)`);
    const upgraded = await timedRun(TSKV, ['deploy', inv35, '--yes', '--json'], { timeoutMs: 900_000 });
    const counts = await load.stop();
    if (upgraded.code !== 0)
      throw new Error(`tskv deploy (upgrade) failed (exit ${upgraded.code}):\n${outputTail(upgraded)}`);
    const doc = JSON.parse(upgraded.stdout) as DeployResult;
    // Where the time went: each step as the run reports it, and the whole run's output lines.
    writeFileSync(
      join(ctx.logDir, `upgrade-run${run}.log`),
      `${doc.steps.map((s) => `${String(s.ms).padStart(7)} ms  ${s.kind} ${s.host ?? ''}: ${s.title}`).join('\n')}\ntotal ${Math.round(upgraded.ms)} ms\n${timeline({ ...upgraded, lines: upgraded.lines.filter((l) => !l.text.startsWith('{')) })}\n`,
    );
    const lost = await load.lost();
    return {
      from: v34.version,
      to: v35.version,
      ms: upgraded.ms,
      members: doc.steps
        .filter((s) => s.kind === 'restart' && s.host !== undefined)
        .map((s) => ({ host: s.host!, ms: s.ms, leader: s.host === doc.plan?.leader })),
      lostWrites: lost.length,
      ...counts,
    };
  } finally {
    await load.stop();
    await close();
  }
}

/** One upgrade per run on a fresh lab; failed runs are noted, not counted. */
export async function upgrades(lab: string, runs: number, ctx: SeriesContext): Promise<UpgradeSample[]> {
  const samples: UpgradeSample[] = [];
  for (let run = 1; run <= runs; run++) {
    ctx.log(`run ${run}/${runs}: tskv deploy rolling 3 members from etcd 3.4 to 3.5`);
    try {
      const s = await upgradeOnce(lab, run, ctx);
      ctx.log(
        `  upgrade: ${(s.ms / 1000).toFixed(2)} s (${s.members.map((m) => `${m.host}${m.leader ? ' (leader)' : ''} ${(m.ms / 1000).toFixed(2)} s`).join(', ')}), ${s.failedRequests}/${s.requests} requests failed, ${s.lostWrites} lost`,
      );
      samples.push(s);
    } catch (err) {
      ctx.log(`  upgrade FAILED: ${describeCause(err)}`);
      ctx.notes.push(`run ${run}: upgrade failed: ${describeCause(err).replaceAll('\n', ' | ')}`);
    } finally {
      await Lab.down(lab);
    }
  }
  return samples;
}

const median = (xs: number[]) => summarize(xs)?.median ?? Number.NaN;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** The printed table: medians over the runs of the whole upgrade and of each member's step, by rolling position. */
export function formatUpgradeSamples(samples: UpgradeSample[]): string {
  const first = samples[0];
  if (!first) return '';
  const positions = first.members.map((_, i) => i);
  const lines = [
    '',
    `rolling upgrade of 3 members, etcd ${first.from} → ${first.to}, under client load (median of ${samples.length})`,
    `  ${'tskv deploy --yes'.padEnd(30)}${seconds(median(samples.map((s) => s.ms)))}`,
    ...positions.map((i) => {
      const name = `member ${i + 1}${first.members[i]!.leader ? ' (the leader, last)' : ''}`;
      return `  ${name.padEnd(30)}${seconds(median(samples.map((s) => s.members[i]?.ms ?? Number.NaN)))}`;
    }),
    `  client requests failed: ${Math.max(...samples.map((s) => s.failedRequests))} at most of ${Math.min(...samples.map((s) => s.requests))}; acknowledged writes lost: ${Math.max(...samples.map((s) => s.lostWrites))}; longest stall ${seconds(Math.max(...samples.map((s) => s.longestStallMs)))}`,
  ];
  return `${lines.join('\n')}\n`;
}

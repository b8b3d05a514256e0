/**
 * Issue 14's scaling figure: a deployed 3-member lab cluster grown to 5 by adding two hosts to the
 * inventory and running `tskv deploy INV --yes --json`, timed as the operator runs it, with client
 * traffic through every host throughout. Per added member: the time of its membership steps (add
 * as a learner, start, caught up, promote) from the result's step records. Lab setup and the
 * first deploy are not timed.
 */
import { describeCause } from '../../controller/errors.ts';
import type { DeployResult } from '../../controller/plays/deploy.ts';
import { Lab } from '../../lab/lab.ts';
import { clientLoad } from './replace-bench.ts';
import type { SeriesContext } from './series.ts';
import { summarize } from './stats.ts';
import { outputTail, TSKV, timedRun } from './timed-run.ts';

export const SCALE_HOSTS = ['h102', 'docker', 'h104', 'h105', 'h106'];
const ADDED = SCALE_HOSTS.slice(3);

export interface ScaleSample {
  ms: number;
  /** Per added member, the time of its own membership steps, and of each. */
  perMember: { host: string; ms: number; steps: { kind: string; ms: number }[] }[];
  lostWrites: number;
  requests: number;
  failedRequests: number;
}

async function scaleOnce(labName: string, run: number, log: (s: string) => void): Promise<ScaleSample> {
  const lab = await Lab.up({ name: labName, hosts: SCALE_HOSTS, fresh: true });
  const three = lab.writeInventory(
    { hosts: Object.fromEntries(ADDED.map((h) => [h, null])) },
    'bench-three.yaml',
  );
  const five = lab.writeInventory({}, 'bench-five.yaml');
  const deployed = await timedRun(TSKV, ['deploy', three, '--yes']);
  if (deployed.code !== 0) throw new Error(`deploy of 3 members failed:\n${outputTail(deployed)}`);
  const { load, close } = await clientLoad(five, `tskv-bench/scale-${run}`);
  try {
    if (!(await load.warmedUp())) throw new Error('the client load got no write acknowledged before scaling');
    log(`  deploy 3 → 5 (${ADDED.join(', ')} added; client load running)`);
    const scaled = await timedRun(TSKV, ['deploy', five, '--yes', '--json']);
    const counts = await load.stop();
    if (scaled.code !== 0)
      throw new Error(`deploy 3 → 5 failed (exit ${scaled.code}):\n${outputTail(scaled)}`);
    const doc = JSON.parse(scaled.stdout) as DeployResult;
    const perMember = ADDED.map((host) => {
      const steps = doc.steps
        .filter((s) => s.host === host && s.kind.startsWith('member-'))
        .map((s) => ({ kind: s.kind, ms: s.ms }));
      return { host, ms: steps.reduce((sum, s) => sum + s.ms, 0), steps };
    });
    return { ms: scaled.ms, perMember, lostWrites: (await load.lost()).length, ...counts };
  } finally {
    await load.stop();
    await close();
  }
}

/** One 3 → 5 per run, each on a fresh 5-host lab; failed runs are noted, not counted. */
export async function scales(lab: string, runs: number, ctx: SeriesContext): Promise<ScaleSample[]> {
  const samples: ScaleSample[] = [];
  for (let run = 1; run <= runs; run++) {
    ctx.log(`run ${run}/${runs}: tskv deploy 3 → 5 members`);
    try {
      const s = await scaleOnce(lab, run, ctx.log);
      ctx.log(
        `  3 → 5: ${(s.ms / 1000).toFixed(2)} s (${s.perMember.map((m) => `${m.host} ${(m.ms / 1000).toFixed(2)} s: ${m.steps.map((x) => `${x.kind} ${(x.ms / 1000).toFixed(2)}`).join(', ')}`).join('; ')}), ${s.lostWrites} writes lost`,
      );
      samples.push(s);
    } catch (err) {
      ctx.log(`  scale FAILED: ${describeCause(err)}`);
      ctx.notes.push(`run ${run}: scale failed: ${describeCause(err).replaceAll('\n', ' | ')}`);
    } finally {
      await Lab.down(lab);
    }
  }
  return samples;
}

const median = (xs: number[]) => summarize(xs)?.median ?? Number.NaN;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** The printed table: medians over the runs, total and per added member. */
export function formatScaleSamples(samples: ScaleSample[]): string {
  const lines = [
    '',
    `scale 3 → 5 members by deploy (median of ${samples.length}, client load throughout)`,
    `  total          ${s(median(samples.map((x) => x.ms)))}   lost writes (max) ${Math.max(...samples.map((x) => x.lostWrites))}`,
    ...ADDED.map(
      (host) =>
        `  add ${host.padEnd(10)} ${s(median(samples.map((x) => x.perMember.find((m) => m.host === host)?.ms ?? Number.NaN)))}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Issue 16's "Measure it first": fresh and no-op deploys by tskv and by the Ansible playbook on
 * labs of several sizes, each behind a controller link of each rate (link-shape.ts), every run
 * measured (usage.ts). tskv and Ansible alternate who goes first, as in the main bench.
 */
import { Lab } from '../../lab/lab.ts';
import { labLayout } from '../../lab/names.ts';
import type { AnsibleRunner } from './ansible-run.ts';
import { DeployBench } from './deploy-bench.ts';
import { costSummary, type LinkCell } from './link-report.ts';
import { type LinkRate, unshapeLink } from './link-shape.ts';
import type { SeriesContext } from './series.ts';
import type { UsageMeter } from './usage.ts';

export interface LinkMatrix {
  lab: string;
  rates: LinkRate[];
  hostCounts: number[];
  runs: number;
  tskv: boolean;
  /** Undefined when Ansible is skipped. */
  ansible: AnsibleRunner | undefined;
  meter: UsageMeter;
}

/** Every rate x host count, `runs` times each; the lab is taken down after each cell. */
export async function linkCells(m: LinkMatrix, ctx: SeriesContext): Promise<LinkCell[]> {
  const cells: LinkCell[] = [];
  for (const rate of m.rates) {
    for (const hosts of m.hostCounts) {
      const bench = new DeployBench(m.lab, ctx, 'none', { hosts, rate, meter: m.meter });
      try {
        for (let run = 1; run <= m.runs; run++) {
          ctx.log(`${rate.label}, ${hosts} hosts: run ${run}/${m.runs}`);
          const order = run % 2 === 1 ? (['tskv', 'ansible'] as const) : (['ansible', 'tskv'] as const);
          for (const tool of order) {
            if (tool === 'tskv' && m.tskv) await bench.tskv(run);
            if (tool === 'ansible' && m.ansible) await bench.ansible(run, m.ansible);
          }
        }
      } finally {
        await unshapeLink(labLayout(m.lab).netns);
        await Lab.down(m.lab);
      }
      cells.push({
        rate: rate.label,
        hosts,
        tskvFresh: costSummary(bench.tskvFresh),
        tskvNoop: costSummary(bench.tskvNoop),
        ansibleFresh: costSummary(bench.ansibleFresh),
        ansibleNoop: costSummary(bench.ansibleNoop),
      });
    }
  }
  return cells;
}

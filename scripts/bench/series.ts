/** Timings of one kind across runs: the successful samples, each run's output kept, failures noted. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Summary, summarize } from './stats.ts';
import { outputTail, timeline } from './timed-run.ts';
import { describeUsage, type MeasuredRun, type Usage } from './usage.ts';

export interface SeriesContext {
  /** Where each run's output is written (`<label>-run<N>.log`). */
  logDir: string;
  notes: string[];
  log: (line: string) => void;
}

export class Series {
  readonly label: string;
  readonly samples: number[] = [];
  /** What each successful run cost the controller, when it was measured (see usage.ts). */
  readonly usages: Usage[] = [];
  failures = 0;
  readonly #ctx: SeriesContext;

  constructor(label: string, ctx: SeriesContext) {
    this.label = label;
    this.#ctx = ctx;
  }

  /** Records one timed run; true when it succeeded (exit 0). */
  record(r: MeasuredRun, run: number): boolean {
    const slug = this.label.replace(/[^a-z0-9]+/gi, '-').replace(/-+$/, '');
    writeFileSync(join(this.#ctx.logDir, `${slug}-run${run}.log`), `${timeline(r)}\n`);
    const failed = r.code === 0 ? '' : ` FAILED (exit ${r.code})`;
    const cost = r.usage ? `, ${describeUsage(r.usage)}` : '';
    this.#ctx.log(`  ${this.label}: ${(r.ms / 1000).toFixed(2)} s${cost}${failed}`);
    if (r.code === 0) {
      this.samples.push(r.ms);
      if (r.usage) this.usages.push(r.usage);
      return true;
    }
    this.failures++;
    this.#ctx.notes.push(`run ${run}: ${this.label}${failed}: ${outputTail(r, 6).replaceAll('\n', ' | ')}`);
    return false;
  }

  summary(): Summary | undefined {
    return summarize(this.samples, this.failures);
  }
}

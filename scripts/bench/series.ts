/** Timings of one kind across runs: the successful samples, each run's output kept, failures noted. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Summary, summarize } from './stats.ts';
import { outputTail, type TimedRun, timeline } from './timed-run.ts';

export interface SeriesContext {
  /** Where each run's output is written (`<label>-run<N>.log`). */
  logDir: string;
  notes: string[];
  log: (line: string) => void;
}

export class Series {
  readonly label: string;
  readonly samples: number[] = [];
  failures = 0;
  readonly #ctx: SeriesContext;

  constructor(label: string, ctx: SeriesContext) {
    this.label = label;
    this.#ctx = ctx;
  }

  /** Records one timed run; true when it succeeded (exit 0). */
  record(r: TimedRun, run: number): boolean {
    const slug = this.label.replace(/[^a-z0-9]+/gi, '-').replace(/-+$/, '');
    writeFileSync(join(this.#ctx.logDir, `${slug}-run${run}.log`), `${timeline(r)}\n`);
    const failed = r.code === 0 ? '' : ` FAILED (exit ${r.code})`;
    this.#ctx.log(`  ${this.label}: ${(r.ms / 1000).toFixed(2)} s${failed}`);
    if (r.code === 0) {
      this.samples.push(r.ms);
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

/** The benchmark's arithmetic and verdicts (pure: unit-tested in test/unit/scripts/bench/). */

export interface Summary {
  /** Successful samples only, in ms. */
  samples: number[];
  median: number;
  min: number;
  max: number;
  /** Runs that failed (not counted in the samples). */
  failures: number;
}

/** Median (mean of the middle two for an even count), min and max; undefined without samples. */
export function summarize(samples: number[], failures = 0): Summary | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { samples, median, min: sorted[0]!, max: sorted[sorted.length - 1]!, failures };
}

export const TARGETS = {
  /** tskv fresh deploy at least this many times faster than Ansible's. */
  freshSpeedup: 5,
  /** tskv no-op re-run at least this many times faster than Ansible's re-run ... */
  noopSpeedup: 10,
  /** ... and under this many ms. */
  noopMs: 1500,
  /** One replacement onto a fresh host under this many ms ... */
  replaceMs: 10_000,
  /** ... with this many acknowledged writes lost. */
  lostWrites: 0,
} as const;

export type Verdict = 'PASS' | 'MISS' | 'n/a';

export interface Check {
  name: string;
  target: string;
  measured: string;
  verdict: Verdict;
}

export interface ReplaceSample {
  ms: number;
  lostWrites: number;
  failedRequests: number;
  requests: number;
  acknowledgedWrites: number;
  /** Longest time without a successful request during the replacement. */
  longestStallMs: number;
}

export interface BenchMeasurements {
  tskvFresh?: Summary | undefined;
  tskvNoop?: Summary | undefined;
  ansibleFresh?: Summary | undefined;
  ansibleNoop?: Summary | undefined;
  /** tskv on systemd hosts (etcd as a unit); Ansible's baseline runs on hosts without an init. */
  tskvFreshSystemd?: Summary | undefined;
  tskvNoopSystemd?: Summary | undefined;
  replace?: Summary | undefined;
  /** Worst run: the most lost writes over every replacement run. */
  replaceLostWrites?: number | undefined;
}

/** Ansible's median over tskv's (how many times faster tskv is); undefined when either is missing. */
export function speedup(tskv: Summary | undefined, ansible: Summary | undefined): number | undefined {
  if (!tskv || !ansible || tskv.median <= 0) return undefined;
  return ansible.median / tskv.median;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const times = (x: number) => `${x.toFixed(1)}x`;
const verdict = (value: number | undefined, ok: (v: number) => boolean): Verdict =>
  value === undefined ? 'n/a' : ok(value) ? 'PASS' : 'MISS';

/** Every target with what was measured and PASS / MISS (n/a when a part did not run). */
export function checks(m: BenchMeasurements): Check[] {
  const fresh = speedup(m.tskvFresh, m.ansibleFresh);
  const noop = speedup(m.tskvNoop, m.ansibleNoop);
  const noopMs = m.tskvNoop?.median;
  const replaceMs = m.replace?.median;
  const lost = m.replaceLostWrites;
  return [
    {
      name: 'fresh deploy vs Ansible',
      target: `>= ${TARGETS.freshSpeedup}x faster`,
      measured: fresh === undefined ? 'not measured' : times(fresh),
      verdict: verdict(fresh, (v) => v >= TARGETS.freshSpeedup),
    },
    {
      name: 'no-op re-run vs Ansible',
      target: `>= ${TARGETS.noopSpeedup}x faster`,
      measured: noop === undefined ? 'not measured' : times(noop),
      verdict: verdict(noop, (v) => v >= TARGETS.noopSpeedup),
    },
    {
      name: 'no-op re-run',
      target: `< ${seconds(TARGETS.noopMs)}`,
      measured: noopMs === undefined ? 'not measured' : seconds(noopMs),
      verdict: verdict(noopMs, (v) => v < TARGETS.noopMs),
    },
    {
      name: 'replace one member',
      target: `< ${seconds(TARGETS.replaceMs)}`,
      measured: replaceMs === undefined ? 'not measured' : seconds(replaceMs),
      verdict: verdict(replaceMs, (v) => v < TARGETS.replaceMs),
    },
    {
      name: 'acknowledged writes lost',
      target: `${TARGETS.lostWrites}`,
      measured: lost === undefined ? 'not measured' : String(lost),
      verdict: verdict(lost, (v) => v <= TARGETS.lostWrites),
    },
  ];
}

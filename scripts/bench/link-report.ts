/**
 * The shaped-link bench's figures (issue 16): per link rate and host count, the medians of wall
 * time, bytes the controller sent, controller CPU and peak RSS, for tskv and Ansible, their
 * ratios, tskv's growth with hosts and the targets (pure: unit-tested).
 */
import { table } from './report.ts';
import { summarize, type Verdict } from './stats.ts';
import { mebibytes, megabytes, type Usage } from './usage.ts';

/** Medians over a series' successful runs (each figure's own median; undefined when none succeeded). */
export interface CostSummary {
  okRuns: number;
  failures: number;
  wallMs: number | undefined;
  sentBytes: number | undefined;
  cpuMs: number | undefined;
  maxRssKb: number | undefined;
}

/** One fresh or no-op series of one tool on one cell. */
export interface SeriesFigures {
  samples: number[];
  usages: Usage[];
  failures: number;
}

export interface LinkCell {
  /** The link rate's label (`20mbit`, `unshaped`). */
  rate: string;
  hosts: number;
  tskvFresh: CostSummary | undefined;
  tskvNoop: CostSummary | undefined;
  ansibleFresh: CostSummary | undefined;
  ansibleNoop: CostSummary | undefined;
}

const median = (xs: number[]) => summarize(xs)?.median;

/** Undefined when the series did not run at all (its tool skipped). */
export function costSummary(s: SeriesFigures): CostSummary | undefined {
  if (s.samples.length + s.failures === 0) return undefined;
  return {
    okRuns: s.samples.length,
    failures: s.failures,
    wallMs: median(s.samples),
    sentBytes: median(s.usages.map((u) => u.sentBytes)),
    cpuMs: median(s.usages.map((u) => u.cpuMs)),
    maxRssKb: median(s.usages.map((u) => u.maxRssKb)),
  };
}

/** Ansible's figure over tskv's: above 1, tskv is faster / sends less / uses less. */
export function ratio(tskv: number | undefined, ansible: number | undefined): number | undefined {
  return tskv === undefined || ansible === undefined || tskv <= 0 ? undefined : ansible / tskv;
}

/** The targets at 20 Mbit/s (fresh deploys, Ansible's median over tskv's). */
export const LINK_TARGETS = {
  rate: '20mbit',
  /** 3 hosts: tskv at least this many times faster than the playbook ... */
  speedup3: 1.5,
  /** ... 7 hosts: at least this ... */
  speedup7: 3,
  /** ... and tskv's time from 3 to 7 hosts grows by less than this fraction. */
  growth3to7: 0.3,
} as const;

export interface LinkCheck {
  name: string;
  target: string;
  measured: string;
  verdict: Verdict;
}

const times = (x: number | undefined) => (x === undefined ? '-' : `${x.toFixed(1)}x`);
const sec = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(2)} s`);
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(0)}%`;

/** tskv's fresh wall time growth from `from` to `to` hosts on one rate; undefined when not measured. */
export function growth(cells: LinkCell[], rate: string, from: number, to: number): number | undefined {
  const at = (n: number) => cells.find((c) => c.rate === rate && c.hosts === n)?.tskvFresh?.wallMs;
  const a = at(from);
  const b = at(to);
  return a === undefined || b === undefined || a <= 0 ? undefined : b / a - 1;
}

export function linkChecks(cells: LinkCell[]): LinkCheck[] {
  const t = LINK_TARGETS;
  const cell = (n: number) => cells.find((c) => c.rate === t.rate && c.hosts === n);
  const speed = (n: number) => ratio(cell(n)?.tskvFresh?.wallMs, cell(n)?.ansibleFresh?.wallMs);
  const judge = (v: number | undefined, ok: (v: number) => boolean): Verdict =>
    v === undefined ? 'n/a' : ok(v) ? 'PASS' : 'MISS';
  const s3 = speed(3);
  const s7 = speed(7);
  const g = growth(cells, t.rate, 3, 7);
  return [
    {
      name: `fresh deploy vs Ansible, 3 hosts, ${t.rate}`,
      target: `>= ${t.speedup3}x faster`,
      measured: s3 === undefined ? 'not measured' : times(s3),
      verdict: judge(s3, (v) => v >= t.speedup3),
    },
    {
      name: `fresh deploy vs Ansible, 7 hosts, ${t.rate}`,
      target: `>= ${t.speedup7}x faster`,
      measured: s7 === undefined ? 'not measured' : times(s7),
      verdict: judge(s7, (v) => v >= t.speedup7),
    },
    {
      name: `tskv fresh deploy 3 -> 7 hosts, ${t.rate}`,
      target: `< ${pct(t.growth3to7)}`,
      measured: g === undefined ? 'not measured' : pct(g),
      verdict: judge(g, (v) => v < t.growth3to7),
    },
  ];
}

function costRow(cell: LinkCell, kind: string, tool: string, s: CostSummary | undefined): string[] {
  const head = [cell.rate, String(cell.hosts), kind, tool];
  if (!s) return [...head, '-', '-', '-', '-', 'not run'];
  const orDash = <T>(v: T | undefined, f: (v: T) => string) => (v === undefined ? '-' : f(v));
  return [
    ...head,
    orDash(s.wallMs, sec),
    orDash(s.sentBytes, megabytes),
    orDash(s.cpuMs, sec),
    orDash(s.maxRssKb, mebibytes),
    `${s.okRuns}/${s.okRuns + s.failures}`,
  ];
}

function ratioRow(cell: LinkCell, kind: string, t: CostSummary | undefined, a: CostSummary | undefined) {
  return [
    cell.rate,
    String(cell.hosts),
    kind,
    'ratio',
    times(ratio(t?.wallMs, a?.wallMs)),
    times(ratio(t?.sentBytes, a?.sentBytes)),
    times(ratio(t?.cpuMs, a?.cpuMs)),
    times(ratio(t?.maxRssKb, a?.maxRssKb)),
    '',
  ];
}

/** The printed section: one row per tool and kind of run, a ratio row, growth and targets. */
export function formatLinkReport(cells: LinkCell[], runs: number, notes: string[] = []): string {
  const rows: string[][] = [];
  for (const c of cells) {
    for (const [kind, t, a] of [
      ['fresh', c.tskvFresh, c.ansibleFresh],
      ['no-op', c.tskvNoop, c.ansibleNoop],
    ] as const) {
      rows.push(costRow(c, kind, 'tskv', t), costRow(c, kind, 'ansible', a), ratioRow(c, kind, t, a));
    }
  }
  const lines = [
    `deploy over the controller's link: median of ${runs} run(s) per row`,
    '  sent: bytes the controller sent into the lab (its link, shaped or not); CPU: user+system of every',
    "  process the run started; RSS: peak of the run's largest process; ratio: Ansible / tskv (above 1: tskv better)",
    '',
    ...table(['link', 'hosts', 'deploy', 'tool', 'wall', 'sent', 'CPU', 'peak RSS', 'ok runs'], rows),
  ];
  const growths: string[] = [];
  for (const rate of [...new Set(cells.map((c) => c.rate))]) {
    const counts = cells
      .filter((c) => c.rate === rate)
      .map((c) => c.hosts)
      .sort((a, b) => a - b);
    const first = counts[0];
    for (const n of counts.slice(1)) {
      const g = first === undefined ? undefined : growth(cells, rate, first, n);
      if (g !== undefined) growths.push(`  ${rate}: ${first} -> ${n} hosts ${pct(g)}`);
    }
  }
  if (growths.length > 0) lines.push('', "tskv's fresh deploy time as hosts are added:", ...growths);
  lines.push(
    '',
    ...table(
      ['target', 'wanted', 'measured', 'verdict'],
      linkChecks(cells).map((c) => [c.name, c.target, c.measured, c.verdict]),
    ),
  );
  if (notes.length > 0) lines.push('', 'notes:', ...notes.map((n) => `  - ${n}`));
  return `${lines.join('\n')}\n`;
}

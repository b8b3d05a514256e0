/** The benchmark's printed table and its JSON document (pure: unit-tested in test/unit/scripts/bench/). */
import type { PhaseTime } from './phases.ts';
import {
  type BenchMeasurements,
  type Check,
  checks,
  type ReplaceSample,
  type Summary,
  speedup,
} from './stats.ts';

export interface BenchResult {
  startedAt: string;
  runs: number;
  etcdVersion: string;
  ansibleVersion: string | undefined;
  nodeVersion: string;
  measurements: BenchMeasurements;
  replaceSamples: ReplaceSample[];
  /** tskv's phases (median over runs), from its progress output. */
  tskvPhases?: { fresh: PhaseTime[]; noop: PhaseTime[] };
  /** Why a part was not measured, failures, and anything else the reader should know. */
  notes: string[];
}

export interface BenchDocument extends BenchResult {
  /** Ansible (hosts without an init) over tskv; `...Systemd`: tskv on systemd hosts. */
  ratios: {
    fresh: number | null;
    noop: number | null;
    freshSystemd: number | null;
    noopSystemd: number | null;
  };
  checks: Check[];
}

const sec = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(2)} s`);

function row(cells: string[], widths: number[]): string {
  return cells
    .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
    .join('  ')
    .trimEnd();
}

/** Columns padded to their widest cell: the first left-aligned, the others right-aligned. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  return [row(header, widths), ...rows.map((r) => row(r, widths))];
}

function timingRow(label: string, s: Summary | undefined, runs: number): string[] {
  if (!s) return [label, '-', '-', '-', `0/${runs}`];
  return [
    label,
    sec(s.median),
    sec(s.min),
    sec(s.max),
    `${s.samples.length}/${s.samples.length + s.failures}`,
  ];
}

export function benchDocument(r: BenchResult): BenchDocument {
  const m = r.measurements;
  return {
    ...r,
    ratios: {
      fresh: speedup(m.tskvFresh, m.ansibleFresh) ?? null,
      noop: speedup(m.tskvNoop, m.ansibleNoop) ?? null,
      freshSystemd: speedup(m.tskvFreshSystemd, m.ansibleFresh) ?? null,
      noopSystemd: speedup(m.tskvNoopSystemd, m.ansibleNoop) ?? null,
    },
    checks: checks(m),
  };
}

export function formatReport(doc: BenchDocument): string {
  const m = doc.measurements;
  const ratio = (x: number | null) => (x === null ? '-' : `${x.toFixed(1)}x`);
  const lines = [
    `tskv benchmark: ${doc.runs} run(s), etcd ${doc.etcdVersion}, node ${doc.nodeVersion}, ${doc.ansibleVersion ?? 'ansible not run'}`,
    '',
    ...table(
      ['', 'median', 'min', 'max', 'ok runs'],
      [
        timingRow('tskv deploy, fresh 3 hosts', m.tskvFresh, doc.runs),
        timingRow('tskv deploy, no-op re-run', m.tskvNoop, doc.runs),
        timingRow('tskv deploy, fresh 3 systemd hosts', m.tskvFreshSystemd, doc.runs),
        timingRow('tskv deploy, no-op re-run (systemd)', m.tskvNoopSystemd, doc.runs),
        timingRow('ansible-playbook, fresh 3 hosts', m.ansibleFresh, doc.runs),
        timingRow('ansible-playbook, no-op re-run', m.ansibleNoop, doc.runs),
        timingRow('tskv replace h102=h105', m.replace, doc.runs),
      ],
    ),
    '',
    `ratios (Ansible median / tskv median): fresh ${ratio(doc.ratios.fresh)}, no-op ${ratio(doc.ratios.noop)}`,
    `  tskv on systemd hosts (Ansible's on hosts without an init): fresh ${ratio(doc.ratios.freshSystemd)}, no-op ${ratio(doc.ratios.noopSystemd)}`,
  ];
  const phases = (label: string, list: PhaseTime[] | undefined) =>
    list && list.length > 0 ? [`  ${label}: ${list.map((p) => `${p.phase} ${sec(p.ms)}`).join(' · ')}`] : [];
  const fresh = phases('fresh', doc.tskvPhases?.fresh);
  const noop = phases('no-op', doc.tskvPhases?.noop);
  if (fresh.length + noop.length > 0)
    lines.push('', "where tskv's time goes (median per phase):", ...fresh, ...noop);
  if (doc.replaceSamples.length > 0) {
    lines.push('', 'client traffic during each replacement (writes and read-backs through every member):');
    lines.push(
      ...table(
        ['', 'time', 'requests', 'failed', 'acked writes', 'lost', 'longest stall'],
        doc.replaceSamples.map((s, i) => [
          `run ${i + 1}`,
          sec(s.ms),
          String(s.requests),
          String(s.failedRequests),
          String(s.acknowledgedWrites),
          String(s.lostWrites),
          sec(s.longestStallMs),
        ]),
      ),
    );
  }
  lines.push(
    '',
    ...table(
      ['target', 'wanted', 'measured', 'verdict'],
      doc.checks.map((c) => [c.name, c.target, c.measured, c.verdict]),
    ),
  );
  if (doc.notes.length > 0) lines.push('', 'notes:', ...doc.notes.map((n) => `  - ${n}`));
  return `${lines.join('\n')}\n`;
}

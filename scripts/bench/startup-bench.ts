/**
 * `npm run bench -- --startup`: what starting tskv costs, the README's way (`npx tskv`) against the
 * fast path (a `tskv` on PATH: a symlink to this checkout's bin/tskv, as `ln -s` or a global install
 * makes it). Each way runs the same offline command (render of the seed's inventory), alternating
 * which goes first; no lab, no network.
 */
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Summary, summarize } from './stats.ts';
import { TSKV, timedRun } from './timed-run.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const ARGS = ['render', join(ROOT, 'inventories', 'seed.yaml'), '--host', 'h102'];

export interface StartupWay {
  name: string;
  command: string;
  summary: Summary | undefined;
}

/** The table: one row per way, then how much slower each is than the fastest. */
export function formatStartupReport(ways: StartupWay[], runs: number): string {
  const ms = (n: number) => `${Math.round(n)} ms`;
  const lines = [
    `tskv start-up: tskv render inventories/seed.yaml --host h102, ${runs} runs each (median, min-max, x the fastest)`,
  ];
  const medians = ways.flatMap((w) => (w.summary ? [w.summary.median] : []));
  const fastest = medians.length > 0 ? Math.min(...medians) : undefined;
  for (const w of ways) {
    const s = w.summary;
    const figures = s
      ? `${ms(s.median).padStart(8)}  (${ms(s.min)}-${ms(s.max)})${fastest ? `  ${(s.median / fastest).toFixed(2)}x` : ''}`
      : '  failed';
    const failed = s && s.failures > 0 ? `, ${s.failures} failed` : '';
    lines.push(`  ${w.name.padEnd(22)}${figures}${failed}   ${w.command}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Times each way `runs` times; a way that fails counts as a failure, not a sample. */
export async function startupBench(runs: number, log: (line: string) => void): Promise<string> {
  const pathDir = mkdtempSync(join(tmpdir(), 'tskv-startup-'));
  try {
    symlinkSync(TSKV, join(pathDir, 'tskv'));
    const env = { ...process.env, PATH: `${pathDir}:${process.env.PATH ?? ''}` };
    const ways = [
      { name: 'npx tskv', command: 'npx tskv', cmd: 'npx', args: ['tskv', ...ARGS] },
      { name: 'tskv on PATH', command: `ln -s ${TSKV} /usr/local/bin/tskv`, cmd: 'tskv', args: ARGS },
    ];
    const samples = ways.map(() => ({ ms: [] as number[], failures: 0 }));
    for (let run = 0; run < runs; run++) {
      const order = run % 2 === 0 ? ways.map((_, i) => i) : ways.map((_, i) => ways.length - 1 - i);
      for (const i of order) {
        const way = ways[i]!;
        const r = await timedRun(way.cmd, way.args, { env, cwd: ROOT, timeoutMs: 60_000 });
        if (r.code === 0) samples[i]!.ms.push(r.ms);
        else {
          samples[i]!.failures++;
          log(`${way.name}: exit ${r.code}: ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
        }
      }
    }
    return formatStartupReport(
      ways.map((w, i) => ({
        name: w.name,
        command: w.command,
        summary: summarize(samples[i]!.ms, samples[i]!.failures),
      })),
      runs,
    );
  } finally {
    rmSync(pathDir, { recursive: true, force: true });
  }
}

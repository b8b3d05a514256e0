/**
 * Issue 13's figure: `tskv snapshot save` and `tskv restore` of a 3-member lab cluster holding
 * 100,000 keys of 1 KB (about 100 MB), each timed as the operator runs it, with the controller's
 * peak memory (GNU time's maximum resident set size): both stream the file, so neither may grow
 * with it. The restore is run as an operator runs it, with its snapshot of the data it replaces.
 * Filling the cluster and bringing the lab up are not timed.
 */
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connectAll } from '../../controller/connect/index.ts';
import { describeCause } from '../../controller/errors.ts';
import { EtcdCluster } from '../../controller/etcd/index.ts';
import { EtcdTunnels } from '../../controller/etcd-tunnel.ts';
import { loadInventory } from '../../controller/inventory/load.ts';
import { Lab } from '../../lab/lab.ts';
import type { SeriesContext } from './series.ts';
import { summarize } from './stats.ts';
import { outputTail, type TimedRun, TSKV, timedRun } from './timed-run.ts';

export const SNAPSHOT_KEYS = 100_000;
const VALUE_BYTES = 1000;
const PARALLEL_PUTS = 48;

export interface SnapshotSample {
  keys: number;
  fileBytes: number;
  saveMs: number;
  saveMaxRssKb: number;
  restoreMs: number;
  restoreMaxRssKb: number;
}

/** A command run under GNU time: its wall time and its largest process's peak RSS in KB. */
async function measured(args: string[]): Promise<TimedRun & { maxRssKb: number }> {
  const r = await timedRun('/usr/bin/time', ['-f', 'tskv-bench-maxrss=%M', TSKV, ...args], {
    timeoutMs: 1_800_000,
  });
  const rss = /tskv-bench-maxrss=(\d+)/.exec(r.stderr)?.[1];
  if (rss === undefined) throw new Error(`GNU time printed no maximum RSS:\n${outputTail(r)}`);
  return { ...r, maxRssKb: Number(rss) };
}

/** `count` keys of VALUE_BYTES each through SSH tunnels to every member (traffic stays in the lab). */
async function fill(inventoryPath: string, count: number, log: (s: string) => void): Promise<void> {
  const inv = await loadInventory(inventoryPath);
  const { pool, connections } = await connectAll(inv.hosts);
  const tunnels = new EtcdTunnels(inv);
  try {
    const endpoints = [...connections.values()].map((conn) => tunnels.endpoint(conn));
    const cluster = new EtcdCluster(endpoints, { timeoutMs: 10_000 });
    const value = 'v'.repeat(VALUE_BYTES);
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        await cluster.put(`bench/snapshot/${String(i).padStart(6, '0')}`, value);
        if ((i + 1) % 20_000 === 0) log(`  ${i + 1} keys written`);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_PUTS }, worker));
  } finally {
    await tunnels.close();
    pool.closeAll();
  }
}

/** One save and one restore on a fresh 3-host lab holding SNAPSHOT_KEYS keys. */
export async function snapshotOnce(
  labName: string,
  run: number,
  log: (s: string) => void,
): Promise<SnapshotSample> {
  const lab = await Lab.up({ name: labName, fresh: true });
  const inventory = lab.inventoryPath;
  const deployed = await timedRun(TSKV, ['deploy', inventory, '--yes']);
  if (deployed.code !== 0) throw new Error(`deploy before the snapshot failed:\n${outputTail(deployed)}`);
  log(`  writing ${SNAPSHOT_KEYS} keys of ${VALUE_BYTES} bytes`);
  await fill(inventory, SNAPSHOT_KEYS, log);
  const file = join(lab.layout.dir, `bench-${run}.db`);
  try {
    const saved = await measured(['snapshot', 'save', inventory, '--out', file]);
    if (saved.code !== 0)
      throw new Error(`tskv snapshot save failed (exit ${saved.code}):\n${outputTail(saved)}`);
    const fileBytes = statSync(file).size;
    log(
      `  snapshot save: ${(saved.ms / 1000).toFixed(2)} s, ${fileBytes} bytes, peak RSS ${saved.maxRssKb} KB`,
    );
    const restored = await measured(['restore', inventory, file, '--yes']);
    if (restored.code !== 0)
      throw new Error(`tskv restore failed (exit ${restored.code}):\n${outputTail(restored)}`);
    log(`  restore: ${(restored.ms / 1000).toFixed(2)} s, peak RSS ${restored.maxRssKb} KB`);
    const counted = await timedRun(TSKV, [
      'etcdctl',
      inventory,
      '--',
      'get',
      'bench/snapshot/',
      '--prefix',
      '--limit=1',
      '-w',
      'json',
    ]);
    // etcdctl 3.4 has no --count-only; its JSON answer counts every key of the range.
    const keys = Number(/"count":(\d+)/.exec(counted.stdout)?.[1] ?? Number.NaN);
    if (keys !== SNAPSHOT_KEYS)
      throw new Error(`after the restore ${keys} keys, not ${SNAPSHOT_KEYS}:\n${outputTail(counted)}`);
    return {
      keys,
      fileBytes,
      saveMs: saved.ms,
      saveMaxRssKb: saved.maxRssKb,
      restoreMs: restored.ms,
      restoreMaxRssKb: restored.maxRssKb,
    };
  } finally {
    rmSync(file, { force: true });
  }
}

/** SNAPSHOT_KEYS save+restore rounds, one per run on a fresh lab; failed runs are noted, not counted. */
export async function snapshots(lab: string, runs: number, ctx: SeriesContext): Promise<SnapshotSample[]> {
  const samples: SnapshotSample[] = [];
  for (let run = 1; run <= runs; run++) {
    ctx.log(`run ${run}/${runs}: tskv snapshot save and restore of ${SNAPSHOT_KEYS} keys`);
    try {
      samples.push(await snapshotOnce(lab, run, ctx.log));
    } catch (err) {
      ctx.log(`  snapshot/restore FAILED: ${describeCause(err)}`);
      ctx.notes.push(`run ${run}: snapshot/restore failed: ${describeCause(err).replaceAll('\n', ' | ')}`);
    } finally {
      await Lab.down(lab);
    }
  }
  return samples;
}

const median = (xs: number[]) => summarize(xs)?.median ?? Number.NaN;

/** The printed table: medians over the runs of wall time and the controller's peak RSS. */
export function formatSnapshotSamples(samples: SnapshotSample[]): string {
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  const lines = [
    '',
    `snapshot save and restore: ${SNAPSHOT_KEYS} keys, file ${mb(median(samples.map((s) => s.fileBytes)))} (median of ${samples.length})`,
    `  snapshot save  ${(median(samples.map((s) => s.saveMs)) / 1000).toFixed(2)} s   controller peak RSS ${mb(median(samples.map((s) => s.saveMaxRssKb)) * 1024)}`,
    `  restore        ${(median(samples.map((s) => s.restoreMs)) / 1000).toFixed(2)} s   controller peak RSS ${mb(median(samples.map((s) => s.restoreMaxRssKb)) * 1024)}`,
  ];
  return `${lines.join('\n')}\n`;
}

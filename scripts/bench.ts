/**
 * `npm run bench`: tskv against Ansible on the lab (issues 4 and 5, "Speed"). Prints a table of
 * medians with min/max, the ratios and PASS/MISS per target; writes .cache/bench/last.json.
 * Never part of `npm test`: timings are printed, not asserted.
 *
 *   npm run bench -- [--runs N] [--skip deploy,ansible,replace]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeCause } from '../controller/errors.ts';
import { Lab, labUnavailableReason } from '../test/lab/lab.ts';
import { ensureAnsible } from './bench/ansible-install.ts';
import { AnsibleRunner } from './bench/ansible-run.ts';
import { replaceAvailable, replaceOnce, TSKV } from './bench/replace-bench.ts';
import { type BenchResult, benchDocument, formatReport } from './bench/report.ts';
import { type ReplaceSample, summarize } from './bench/stats.ts';
import { outputTail, type TimedRun, timedRun } from './bench/timed-run.ts';

const LAB = 'bench';
const HOSTS = ['h102', 'docker', 'h104'];
const PARTS = ['deploy', 'ansible', 'replace'] as const;
type Part = (typeof PARTS)[number];
const CACHE = join(import.meta.dirname, '..', '.cache', 'bench');

const log = (line: string) => process.stderr.write(`${line}\n`);

function options(): { runs: number; parts: Set<Part> } {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, skip: { type: 'string' } } });
  const runs = Number(values.runs ?? 3);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs wants a whole number >= 1, not ${values.runs}`);
  const skip = (values.skip ?? '').split(',').filter(Boolean);
  const unknown = skip.filter((s) => !(PARTS as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`--skip knows ${PARTS.join(', ')}, not ${unknown.join(', ')}`);
  return { runs, parts: new Set(PARTS.filter((p) => !skip.includes(p))) };
}

/** Timings of one kind: successful samples, and a note for each failed run. */
class Series {
  readonly samples: number[] = [];
  failures = 0;
  readonly #label: string;
  readonly #notes: string[];

  constructor(label: string, notes: string[]) {
    this.#label = label;
    this.#notes = notes;
  }

  record(r: TimedRun, run: number): boolean {
    log(`  ${this.#label}: ${(r.ms / 1000).toFixed(2)} s${r.code === 0 ? '' : ` FAILED (exit ${r.code})`}`);
    if (r.code === 0) {
      this.samples.push(r.ms);
      return true;
    }
    this.failures++;
    this.#notes.push(
      `run ${run}: ${this.#label} failed (exit ${r.code}): ${outputTail(r, 6).replaceAll('\n', ' | ')}`,
    );
    return false;
  }

  summary() {
    return summarize(this.samples, this.failures);
  }
}

/** What Ansible's PLAY RECAP says it changed (a converged re-run changes only the test key: 2). */
function ansibleChanges(r: TimedRun): number {
  return [...r.stdout.matchAll(/ changed=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function main(): Promise<number> {
  const { runs, parts } = options();
  const unavailable = labUnavailableReason();
  if (unavailable) {
    log(`bench: ${unavailable}`);
    return 1;
  }
  const notes: string[] = [];
  const series = {
    tskvFresh: new Series('tskv deploy (fresh)', notes),
    tskvNoop: new Series('tskv deploy (no-op)', notes),
    ansibleFresh: new Series('ansible-playbook (fresh)', notes),
    ansibleNoop: new Series('ansible-playbook (no-op)', notes),
  };
  const replaceSamples: ReplaceSample[] = [];
  let replaceFailures = 0;
  const ansibleVersion = parts.has('ansible') ? await ensureAnsible(log) : undefined;
  if (parts.has('replace') && !(await replaceAvailable())) {
    log('replace: not available');
    notes.push('replace: not available (bin/tskv replace --help failed)');
    parts.delete('replace');
  }
  const ansible = new AnsibleRunner(join(CACHE, 'ansible'));
  let etcdVersion = '?';
  try {
    for (let run = 1; run <= runs; run++) {
      if (parts.has('deploy')) {
        log(`run ${run}/${runs}: tskv on bare hosts`);
        const lab = await Lab.up({ name: LAB, hosts: HOSTS, fresh: true });
        etcdVersion = lab.state.etcd.version;
        if (series.tskvFresh.record(await timedRun(TSKV, ['deploy', lab.inventoryPath, '--yes']), run)) {
          const noop = await timedRun(TSKV, ['deploy', lab.inventoryPath, '--yes']);
          if (series.tskvNoop.record(noop, run) && !/nothing to do/.test(noop.stdout))
            notes.push(`run ${run}: tskv's re-run did not say "nothing to do"`);
        }
      }
      if (parts.has('ansible')) {
        log(`run ${run}/${runs}: Ansible on bare hosts`);
        const lab = await Lab.up({ name: LAB, hosts: HOSTS, fresh: true });
        etcdVersion = lab.state.etcd.version;
        const inventory = await ansible.writeInventory(lab.inventoryPath, LAB);
        if (series.ansibleFresh.record(await ansible.playbook(inventory), run)) {
          const noop = await ansible.playbook(inventory);
          if (series.ansibleNoop.record(noop, run) && ansibleChanges(noop) > 2)
            notes.push(`run ${run}: Ansible's re-run changed ${ansibleChanges(noop)} things (2 expected)`);
        }
        await ansible.closeConnections();
      }
    }
    if (parts.has('replace')) {
      await Lab.down(LAB);
      for (let run = 1; run <= runs; run++) {
        log(`run ${run}/${runs}: tskv replace on a 4-host lab`);
        try {
          const sample = await replaceOnce(LAB, run, log);
          log(
            `  tskv replace: ${(sample.ms / 1000).toFixed(2)} s, ${sample.failedRequests}/${sample.requests} requests failed, ${sample.lostWrites} lost`,
          );
          replaceSamples.push(sample);
        } catch (err) {
          replaceFailures++;
          log(`  tskv replace FAILED: ${describeCause(err)}`);
          notes.push(`run ${run}: replace failed: ${describeCause(err).replaceAll('\n', ' | ')}`);
        }
      }
    }
  } finally {
    await ansible.close();
    await Lab.down(LAB);
  }
  const result: BenchResult = {
    startedAt: new Date().toISOString(),
    runs,
    etcdVersion,
    ansibleVersion,
    nodeVersion: process.version,
    measurements: {
      tskvFresh: series.tskvFresh.summary(),
      tskvNoop: series.tskvNoop.summary(),
      ansibleFresh: series.ansibleFresh.summary(),
      ansibleNoop: series.ansibleNoop.summary(),
      replace: summarize(
        replaceSamples.map((s) => s.ms),
        replaceFailures,
      ),
      replaceLostWrites:
        replaceSamples.length > 0 ? Math.max(...replaceSamples.map((s) => s.lostWrites)) : undefined,
    },
    replaceSamples,
    notes,
  };
  const doc = benchDocument(result);
  process.stdout.write(formatReport(doc));
  mkdirSync(CACHE, { recursive: true });
  writeFileSync(join(CACHE, 'last.json'), `${JSON.stringify(doc, null, 2)}\n`);
  log(`results: ${join(CACHE, 'last.json')}`);
  return 0;
}

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log(`bench: ${sig}, taking the lab down`);
    Lab.down(LAB).finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`bench: ${describeCause(err)}`);
    process.exit(1);
  },
);

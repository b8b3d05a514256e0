/**
 * `npm run bench`: tskv against Ansible on the lab (issues 4 and 5, "Speed"). Prints a table of
 * medians with min/max, the ratios and PASS/MISS per target; writes .cache/bench/last.json and
 * each timed run's output to .cache/bench/logs/. Never part of `npm test`: timings are printed,
 * not asserted.
 *
 *   npm run bench -- [--runs N] [--skip deploy,systemd,ansible,replace,snapshot,upgrade,scale] [--lab NAME]
 *   npm run bench -- --shape 20mbit,100mbit --hosts 3,5,7 [--runs N] [--skip deploy|ansible] [--lab NAME]
 *   npm run bench -- --startup [--runs N]
 *
 * With --shape or --hosts it runs only the link bench (issue 16): tskv's and Ansible's deploys
 * per link rate and host count, each run's bytes sent, controller CPU and peak RSS. With --startup:
 * only what starting tskv costs, `npx tskv` against a `tskv` on PATH (no lab; default 10 runs).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeCause } from '../controller/errors.ts';
import { Lab, labUnavailableReason } from '../lab/lab.ts';
import { ensureAnsible } from './bench/ansible-install.ts';
import { AnsibleRunner } from './bench/ansible-run.ts';
import { lockBench } from './bench/bench-lock.ts';
import { DeployBench } from './bench/deploy-bench.ts';
import { linkCells } from './bench/link-bench.ts';
import { formatLinkReport } from './bench/link-report.ts';
import { type LinkRate, parseLinkRate } from './bench/link-shape.ts';
import { medianPhases } from './bench/phases.ts';
import { replaceAvailable, replaceOnce } from './bench/replace-bench.ts';
import { benchDocument, formatReport } from './bench/report.ts';
import { formatScaleSamples, type ScaleSample, scales } from './bench/scale-bench.ts';
import type { SeriesContext } from './bench/series.ts';
import { formatSnapshotSamples, type SnapshotSample, snapshots } from './bench/snapshot-bench.ts';
import { startupBench } from './bench/startup-bench.ts';
import { type ReplaceSample, summarize } from './bench/stats.ts';
import { formatUpgradeSamples, type UpgradeSample, upgrades } from './bench/upgrade-bench.ts';
import { UsageMeter } from './bench/usage.ts';

const PARTS = ['deploy', 'systemd', 'ansible', 'replace', 'snapshot', 'upgrade', 'scale'] as const;
type Part = (typeof PARTS)[number];
const CACHE = join(import.meta.dirname, '..', '.cache', 'bench');

const log = (line: string) => process.stderr.write(`${line}\n`);

/** The link bench's rates and host counts; undefined without --shape and --hosts. */
interface LinkOptions {
  rates: LinkRate[];
  hostCounts: number[];
}

/** `3,5,7`: whole numbers from 1 to 20. */
function hostCounts(text: string): number[] {
  const counts = text.split(',').map((s) => Number(s.trim()));
  const bad = counts.find((n) => !Number.isInteger(n) || n < 1 || n > 20);
  if (bad !== undefined || counts.length === 0)
    throw new Error(`--hosts wants host counts from 1 to 20 separated by commas (3,5,7), not ${text}`);
  return [...new Set(counts)];
}

function options(): {
  runs: number;
  parts: Set<Part>;
  lab: string;
  link: LinkOptions | undefined;
  startup: boolean;
} {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      skip: { type: 'string' },
      lab: { type: 'string' },
      shape: { type: 'string' },
      hosts: { type: 'string' },
      startup: { type: 'boolean' },
    },
  });
  const runs = Number(values.runs ?? (values.startup ? 10 : 3));
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs wants a whole number >= 1, not ${values.runs}`);
  const skip = (values.skip ?? '').split(',').filter(Boolean);
  const unknown = skip.filter((s) => !(PARTS as readonly string[]).includes(s));
  if (unknown.length > 0) throw new Error(`--skip knows ${PARTS.join(', ')}, not ${unknown.join(', ')}`);
  const link =
    values.shape === undefined && values.hosts === undefined
      ? undefined
      : {
          rates: [...new Set((values.shape ?? 'none').split(','))].map(parseLinkRate),
          hostCounts: hostCounts(values.hosts ?? '3'),
        };
  return {
    runs,
    parts: new Set(PARTS.filter((p) => !skip.includes(p))),
    lab: values.lab ?? 'bench',
    link,
    startup: values.startup ?? false,
  };
}

/** The link bench (issue 16) alone: its table on stdout, its figures in last.json. */
async function linkBench(lab: string, runs: number, parts: Set<Part>, link: LinkOptions, ctx: SeriesContext) {
  const ansibleVersion = parts.has('ansible') ? await ensureAnsible(log) : undefined;
  const ansible = ansibleVersion ? new AnsibleRunner(join(CACHE, 'ansible')) : undefined;
  const meter = new UsageMeter(lab);
  cleanups.push(async () => {
    await ansible?.close();
    meter.close();
  });
  ctx.notes.push(
    'timed and measured: the whole CLI process (bin/tskv deploy INV --yes; ansible-playbook -i INV scripts/bench/ansible/deploy-etcd.yml) on bare lab hosts, both with TLS; bringing the lab up is not timed',
    "link: a tbf on the egress of the lab bridge's interface in the lab's namespace: what the controller sends to the hosts (both tools' SSH through the lab's proxy command); host-to-host traffic and replies are not shaped",
    meter.cpuSource,
    "peak RSS: GNU time's maximum resident set size (the largest single process of the run)",
  );
  if (ansibleVersion)
    ctx.notes.push(`Ansible: ${ansibleVersion}, its best settings (pipelining, forks 10, ControlPersist)`);
  const started = new Date().toISOString();
  let cells: Awaited<ReturnType<typeof linkCells>> = [];
  try {
    cells = await linkCells(
      {
        lab,
        rates: link.rates,
        hostCounts: link.hostCounts,
        runs,
        tskv: parts.has('deploy'),
        ansible,
        meter,
      },
      ctx,
    );
  } finally {
    await ansible?.close();
    const kept = meter.close();
    if (kept) ctx.notes.push(kept);
  }
  process.stdout.write(formatLinkReport(cells, runs, ctx.notes));
  const doc = {
    startedAt: started,
    runs,
    nodeVersion: process.version,
    ansibleVersion,
    linkCells: cells,
    notes: ctx.notes,
  };
  writeFileSync(join(CACHE, 'last.json'), `${JSON.stringify(doc, null, 2)}\n`);
  log(`results: ${join(CACHE, 'last.json')}; each run's output: ${ctx.logDir}/`);
  return 0;
}

/** One replacement per run on a fresh 4-host lab; the samples and how many runs failed. */
async function replacements(
  lab: string,
  runs: number,
  ctx: SeriesContext,
): Promise<{ samples: ReplaceSample[]; failures: number }> {
  const samples: ReplaceSample[] = [];
  let failures = 0;
  for (let run = 1; run <= runs; run++) {
    ctx.log(`run ${run}/${runs}: tskv replace on a 4-host lab`);
    try {
      const s = await replaceOnce(lab, run, ctx.log);
      ctx.log(
        `  tskv replace: ${(s.ms / 1000).toFixed(2)} s, ${s.failedRequests}/${s.requests} requests failed, ${s.lostWrites} lost`,
      );
      samples.push(s);
    } catch (err) {
      failures++;
      ctx.log(`  tskv replace FAILED: ${describeCause(err)}`);
      ctx.notes.push(`run ${run}: replace failed: ${describeCause(err).replaceAll('\n', ' | ')}`);
    }
  }
  return { samples, failures };
}

async function main(): Promise<number> {
  const startedAt = new Date().toISOString();
  const { runs, parts, lab, link, startup } = options();
  if (startup) {
    process.stdout.write(await startupBench(runs, log));
    return 0;
  }
  const unavailable = labUnavailableReason();
  if (unavailable) {
    log(`bench: ${unavailable}`);
    return 1;
  }
  const unlock = lockBench(join(CACHE, `${lab}.lock`), lab);
  cleanups.push(async () => unlock());
  labName = lab;
  const ctx: SeriesContext = { logDir: join(CACHE, 'logs'), notes: [], log };
  rmSync(ctx.logDir, { recursive: true, force: true });
  mkdirSync(ctx.logDir, { recursive: true });
  if (link) {
    try {
      return await linkBench(lab, runs, parts, link, ctx);
    } finally {
      await Lab.down(lab);
      unlock();
    }
  }
  ctx.notes.push(
    'timed: the whole CLI process (bin/tskv deploy INV --yes; ansible-playbook -i INV scripts/bench/ansible/deploy-etcd.yml) on bare lab hosts; bringing the lab up is not timed; tskv and Ansible alternate who goes first',
  );
  ctx.notes.push(
    "both sides run TLS: tskv with tls.mode auto, its PKI folder empty before each fresh run; the playbook makes its CA, client certificate and each member's server and peer certificates (ECDSA P-256) and an empty revocation list on the controller with community.crypto (openssl_privatekey, openssl_csr_pipe, x509_certificate selfsigned/ownca, x509_crl), copies them to the hosts, lets the peer port in only from the members, and checks /health with curl over https with a certificate",
  );
  const ansibleVersion = parts.has('ansible') ? await ensureAnsible(log) : undefined;
  if (ansibleVersion) {
    ctx.notes.push(
      'Ansible is given its best settings: pipelining, no fact gathering, forks 10, and its ssh ControlPersist connections (60 s) reused by the re-run',
    );
  }
  if (parts.has('replace') && !(await replaceAvailable())) {
    log('replace: not available');
    ctx.notes.push('replace: not available (bin/tskv replace --help failed)');
    parts.delete('replace');
  }
  const deploy = new DeployBench(lab, ctx);
  const onSystemd = new DeployBench(lab, ctx, 'systemd');
  const ansible = new AnsibleRunner(join(CACHE, 'ansible'));
  cleanups.push(() => ansible.close());
  let replaced: { samples: ReplaceSample[]; failures: number } = { samples: [], failures: 0 };
  let snapshotted: SnapshotSample[] = [];
  let upgraded: UpgradeSample[] = [];
  let scaled: ScaleSample[] = [];
  try {
    for (let run = 1; run <= runs; run++) {
      const order = run % 2 === 1 ? (['deploy', 'ansible'] as const) : (['ansible', 'deploy'] as const);
      for (const part of order) {
        if (part === 'deploy' && parts.has('deploy')) await deploy.tskv(run);
        if (part === 'deploy' && parts.has('systemd')) await onSystemd.tskv(run);
        if (part === 'ansible' && parts.has('ansible')) await deploy.ansible(run, ansible);
      }
    }
    if (parts.has('replace')) {
      await Lab.down(lab); // the replacement lab has four hosts
      replaced = await replacements(lab, runs, ctx);
    }
    if (parts.has('snapshot')) {
      await Lab.down(lab);
      snapshotted = await snapshots(lab, runs, ctx);
    }
    if (parts.has('upgrade')) {
      await Lab.down(lab);
      upgraded = await upgrades(lab, runs, ctx);
    }
    if (parts.has('scale')) {
      await Lab.down(lab); // the scaling lab has five hosts
      scaled = await scales(lab, runs, ctx);
    }
  } finally {
    await ansible.close();
    await Lab.down(lab);
    unlock();
  }
  const lost = replaced.samples.map((s) => s.lostWrites);
  const doc = benchDocument({
    startedAt,
    runs,
    etcdVersion: deploy.etcdVersion,
    ansibleVersion,
    nodeVersion: process.version,
    measurements: {
      tskvFresh: deploy.tskvFresh.summary(),
      tskvNoop: deploy.tskvNoop.summary(),
      ansibleFresh: deploy.ansibleFresh.summary(),
      ansibleNoop: deploy.ansibleNoop.summary(),
      tskvFreshSystemd: onSystemd.tskvFresh.summary(),
      tskvNoopSystemd: onSystemd.tskvNoop.summary(),
      replace: summarize(
        replaced.samples.map((s) => s.ms),
        replaced.failures,
      ),
      replaceLostWrites: lost.length > 0 ? Math.max(...lost) : undefined,
    },
    replaceSamples: replaced.samples,
    tskvPhases: {
      fresh: medianPhases(deploy.tskvPhases.fresh),
      noop: medianPhases(deploy.tskvPhases.noop),
    },
    notes: ctx.notes,
  });
  process.stdout.write(formatReport(doc));
  if (snapshotted.length > 0) process.stdout.write(formatSnapshotSamples(snapshotted));
  if (upgraded.length > 0) process.stdout.write(formatUpgradeSamples(upgraded));
  if (scaled.length > 0) process.stdout.write(formatScaleSamples(scaled));
  writeFileSync(
    join(CACHE, 'last.json'),
    `${JSON.stringify({ ...doc, snapshotSamples: snapshotted, upgradeSamples: upgraded, scaleSamples: scaled }, null, 2)}\n`,
  );
  log(`results: ${join(CACHE, 'last.json')}; each run's output: ${ctx.logDir}/`);
  return 0;
}

/** Run on an interrupt besides taking the lab down (main's `finally` does not run then). */
const cleanups: (() => Promise<void>)[] = [];
/** The lab to take down on an interrupt, once this run owns it. */
let labName: string | undefined;
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    log(`bench: ${sig}, taking the lab down`);
    const down = labName ? [Lab.down(labName)] : [];
    Promise.allSettled([...down, ...cleanups.map((c) => c())]).finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`bench: ${describeCause(err)}`);
    process.exit(1);
  },
);

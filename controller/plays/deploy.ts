/**
 * `tskv deploy` as one workflow: preflight (every host passes before anything changes) → read each
 * host's state and the live member list → plan → (dry run stops here) → confirm restarts → clock →
 * install/firewall/config → start (bootstrap: all together) → rolling restarts → verify.
 */

import { ETCD_PKI_FILES } from '../../agent/api/index.ts';
import { resolveEtcdArtifact } from '../artifacts/etcd-repack.ts';
import type { EtcdArtifact } from '../artifacts/etcd-tarball.ts';
import { type ErrorDocument, errorDocument, TskvError } from '../errors.ts';
import type { Inventory } from '../inventory/model.ts';
import type { CheckResult } from '../ops/checks.ts';
import { decideClusterMode } from '../ops/cluster-mode.ts';
import { envFileValue } from '../ops/config.ts';
import { type DeployPlan, type HostInput, isNoop, planDeploy } from '../ops/deploy-plan.ts';
import { describePkiChanges, ensurePki } from '../pki/index.ts';
import { formatSummary } from '../plan/print.ts';
import { scheme } from '../render/urls.ts';
import { applyChange } from '../run/apply.ts';
import { type RunResult, runPlan, type StepRecord } from '../run/runner.ts';
import { gatherDeploy, pkiWants } from './deploy-gather.ts';
import { deployExecutor } from './deploy-steps.ts';
import { type VerifyReport, verifyCluster } from './deploy-verify.ts';
import { prefetchEtcd } from './etcd-prefetch.ts';
import { LiveCluster } from './live-cluster.ts';
import { runPreflight } from './preflight.ts';
import type { Session } from './session.ts';

export interface DeployOptions {
  dryRun: boolean;
  /** Restarting running members needs a yes: a TTY's answer or --yes. */
  yes: boolean;
  /** The command line that answers yes for scripts. */
  rerun: string;
  /** The command line, as the cluster lock names its holder. */
  command: string;
  /** End a hung run's hold on the cluster lock. */
  breakLock: boolean;
  allowSkew: boolean;
  stepClock: boolean;
  allowExistingData: boolean;
  /** Prints the plan (before anything changes). */
  showPlan: (plan: DeployPlan) => void;
}

/** The one result document (`--json`). */
export interface DeployResult {
  ok: boolean;
  dryRun: boolean;
  inventory: string;
  /** Failed preflight checks deploy could not fix, and warnings. */
  preflight: CheckResult[];
  plan: DeployPlan | undefined;
  summary: string;
  /** What each host's agent reports it did. */
  actions: Record<string, string[]>;
  /** Each step run, with how long it took (in the order they finished). */
  steps: StepRecord[];
  started: string[];
  restarted: string[];
  verify: VerifyReport | undefined;
  error: ErrorDocument | undefined;
}

function blocking(checks: CheckResult[]): CheckResult[] {
  // Closed ports are deploy's to open; skew is deploy's to fix (or to refuse with its own message).
  return checks.filter((c) => c.status === 'fail' && !c.fixedByDeploy && c.check !== 'clock');
}

/**
 * A running member whose env file serves another scheme than the inventory's (plain HTTP and
 * tls.mode auto, or the reverse): moving a running cluster to or from TLS is not done yet, and
 * would otherwise fail later as members that do not answer.
 */
function refuseSchemeChange(inv: Inventory, hosts: HostInput[]): void {
  const want = scheme(inv);
  const other = hosts.filter((h) => {
    const url = envFileValue(h.envFile, 'ETCD_ADVERTISE_CLIENT_URLS');
    return h.running && url !== undefined && !url.startsWith(`${want}://`);
  });
  if (other.length === 0) return;
  const runs = want === 'https' ? 'plain HTTP' : 'TLS';
  throw new TskvError(
    'E_TLS_CHANGE',
    `the cluster runs ${runs} (${other.map((h) => h.spec.name).join(', ')}), and the inventory says tls.mode ${inv.tls.mode}: moving a running cluster ${want === 'https' ? 'to' : 'off'} TLS is not supported yet; nothing was changed`,
    {
      step: 'plan',
      fix: `keep tls.mode ${want === 'https' ? 'off (or remove tls:)' : 'auto'} in ${inv.file} for this cluster`,
    },
  );
}

/**
 * Hosts that trust another CA than the PKI folder's (tls.dir moved, or the inventory renamed and
 * its default PKI folder with it): new certificates would split the cluster, member by member,
 * into two that cannot talk. CA rotation is not done yet.
 */
function refuseOtherCa(inv: Inventory, hosts: HostInput[]): void {
  const other = hosts.filter((h) => {
    const want = h.tls?.want.get(ETCD_PKI_FILES.ca);
    const have = h.tls?.have.get(ETCD_PKI_FILES.ca)?.content;
    // No CA in the PKI folder while the hosts have one: the folder is not the one that made them.
    return have !== undefined && have !== want;
  });
  if (other.length === 0) return;
  throw new TskvError(
    'E_TLS_OTHER_CA',
    `${other.map((h) => h.spec.name).join(', ')} trust${other.length === 1 ? 's' : ''} another CA than ${inv.tls.dir}/ca.crt: new certificates from it would split the cluster; nothing was changed`,
    {
      step: 'plan',
      fix: `point tls.dir in ${inv.file} at the PKI folder that made this cluster (a new CA for a running cluster is not supported yet)`,
    },
  );
}

/**
 * tls.mode auto, once the hosts are read: refuse hosts of another CA before the PKI changes, then
 * (not on a dry run) make or renew what the PKI lacks, and give each host what it should have.
 */
async function settleTls(
  inv: Inventory,
  hosts: HostInput[],
  dryRun: boolean,
  result: DeployResult,
): Promise<void> {
  const withWants = async () => {
    for (const h of hosts) if (h.tls) h.tls.want = await pkiWants(inv.tls.dir, h.spec.name);
  };
  await withWants();
  refuseOtherCa(inv, hosts);
  if (dryRun) return;
  const members = inv.hosts.map((h) => ({ name: h.name, address: h.address }));
  const pki = await ensurePki(inv.tls.dir, members);
  result.actions['pki'] = [...describePkiChanges(pki), ...pki.warnings.map((w) => `warning: ${w}`)];
  if (pki.changes.length > 0) await withWants();
}

/** Preflight, then the plan from every host's state and the live member list. */
async function planFromHosts(
  live: LiveCluster,
  options: DeployOptions,
  result: DeployResult,
): Promise<DeployPlan> {
  const inv = live.session.inventory;
  const pre = await runPreflight(live.session, { allowExistingData: options.allowExistingData });
  result.preflight = pre.checks.filter((c) => c.status !== 'ok');
  const stop = blocking(pre.checks);
  if (stop.length > 0) {
    throw new TskvError(
      'E_PREFLIGHT',
      `preflight failed on ${[...new Set(stop.map((c) => c.host))].join(', ')}; nothing was changed:\n${stop.map((c) => `  ${c.host} ${c.check}: ${c.observed}`).join('\n')}`,
      { step: 'preflight', ...(stop[0]?.fix ? { fix: stop[0].fix } : {}) },
    );
  }
  const gathered = await gatherDeploy(live, pre);
  refuseSchemeChange(inv, gathered.hosts);
  if (inv.tls.mode === 'auto') await settleTls(inv, gathered.hosts, options.dryRun, result);
  const decision = decideClusterMode(inv, gathered.runtimes, gathered.members, {
    allowExistingData: options.allowExistingData,
  });
  return planDeploy({
    inv,
    hosts: gathered.hosts,
    decision,
    leader: gathered.leader,
    exposure: pre.exposure,
  });
}

export async function runDeploy(session: Session, options: DeployOptions): Promise<DeployResult> {
  const inv = session.inventory;
  const result: DeployResult = {
    ok: false,
    dryRun: options.dryRun,
    inventory: inv.file,
    preflight: [],
    plan: undefined,
    summary: '',
    actions: {},
    steps: [],
    started: [],
    restarted: [],
    verify: undefined,
    error: undefined,
  };
  const live = new LiveCluster(session);
  let tarball: Promise<EtcdArtifact> | undefined;
  const artifact = () => {
    tarball ??= resolveEtcdArtifact(inv.etcd);
    return tarball;
  };
  // A dry run sends nothing; a real one, once it holds the lock, pushes the tarball while
  // preflight runs (etcd-prefetch.ts).
  let prefetched: ReturnType<typeof prefetchEtcd> | undefined;
  try {
    const outcome = await applyChange({
      lock: () => session.lock(options.command, options.breakLock),
      plan: () => {
        if (!options.dryRun) prefetched ??= prefetchEtcd(session.hosts.values(), inv.etcd.version, artifact);
        return planFromHosts(live, options, result);
      },
      show: (plan) => {
        result.plan = plan;
        result.summary = formatSummary(plan);
        options.showPlan(plan);
      },
      dryRun: options.dryRun,
      yes: options.yes,
      question: (plan) =>
        plan.restarts.length > 0
          ? {
              what: `restart ${plan.restarts.join(', ')} (running members, one at a time)`,
              rerun: options.rerun,
            }
          : undefined,
      run: (plan, stillLocked) =>
        isNoop(plan)
          ? Promise.resolve<RunResult>({ steps: [], actions: {}, error: undefined })
          : runPlan(plan, {
              mode: session.mode,
              beforeEachStep: stillLocked,
              execute: deployExecutor({
                live,
                clock: { stepClock: options.stepClock, allowSkew: options.allowSkew },
                artifact,
                ...(prefetched ? { prefetched } : {}),
              }),
            }),
    });
    if (outcome.kind === 'dry-run') {
      result.ok = true;
      return result;
    }
    if (outcome.kind === 'declined') {
      throw new TskvError(
        'E_NOT_CONFIRMED',
        `not restarting ${outcome.plan.restarts.join(', ')}: not confirmed; nothing was changed`,
        { step: 'confirm', fix: 'answer yes, or pass --yes' },
      );
    }
    const run = outcome.result;
    result.plan = outcome.plan;
    result.actions = { ...result.actions, ...run.actions };
    result.steps = run.steps;
    const finished = new Set(run.steps.map((r) => `${r.kind}@${r.host}`));
    result.started = outcome.plan.starts.filter((h) => finished.has(`start@${h}`));
    result.restarted = outcome.plan.restarts.filter((h) => finished.has(`restart@${h}`));
    if (run.error) throw run.error;
    result.verify = await verifyCluster(live);
    result.ok = true;
  } catch (err) {
    result.error = errorDocument(err);
  } finally {
    // A failed preflight must not leave a push running when the connections close.
    if (prefetched) await Promise.all(prefetched.values());
    await live.close();
  }
  return result;
}

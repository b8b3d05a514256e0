/**
 * `tskv deploy` as one workflow: preflight (every host passes before anything changes) → read each
 * host's state and the live member list → plan → (dry run stops here) → confirm restarts → clock →
 * install/firewall/config → start (bootstrap: all together) → rolling restarts → verify.
 */

import { ETCD_PKI_FILES } from '../../agent/api/index.ts';
import { type ErrorDocument, errorDocument, TskvError } from '../errors.ts';
import type { EtcdMember } from '../etcd/index.ts';
import type { Inventory } from '../inventory/model.ts';
import { tlsOn } from '../inventory/tls.ts';
import type { CheckResult } from '../ops/checks.ts';
import { decideClusterMode, staticMemberId } from '../ops/cluster-mode.ts';
import { type DeployPlan, type HostInput, isNoop, planDeploy } from '../ops/deploy-plan.ts';
import { explainDrift, LEAVING_KEY, leavingRecordSchema, noScale } from '../ops/scale-plan.ts';
import { planTlsMigration, stageOfEnv } from '../ops/tls-migration.ts';
import { judgeUpgrade, memberVersions } from '../ops/upgrade-plan.ts';
import { acceptedTrust, clientTlsSources, describePkiChanges, ensurePki } from '../pki/index.ts';
import { formatSummary } from '../plan/print.ts';
import { applyChange } from '../run/apply.ts';
import { Journal } from '../run/journal.ts';
import type { HeldLock } from '../run/lock.ts';
import { type RunResult, runPlan, type StepRecord } from '../run/runner.ts';
import type { TransferRecord } from '../run/transfer.ts';
import { type Gathered, gatherDeploy, tlsWants } from './deploy-gather.ts';
import { deployExecutor } from './deploy-steps.ts';
import { type VerifyReport, verifyCluster } from './deploy-verify.ts';
import { fetchBeforeChanges, TarballPrefetch, type TarballState, tarballSourceOf } from './etcd-prefetch.ts';
import { clusterExposure } from './firewall.ts';
import { LiveCluster } from './live-cluster.ts';
import { judgeFirewallsAgain, type PreflightReport, runPreflight } from './preflight.ts';
import type { Session } from './session.ts';
import { refuseNoSnapshotRoom } from './snapshot-step-run.ts';

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
  /** A change that loses quorum for a moment (moving a cluster of one or two members to TLS) may run. */
  allowDowntime: boolean;
  /** No snapshot before restarts (--no-snapshot). */
  noSnapshot?: boolean;
  /** Prints the plan (before anything changes). */
  showPlan: (plan: DeployPlan) => void;
  /** The tarball prefetch the session started as it locked each host (not on a dry run). */
  prefetch?: TarballPrefetch;
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
  /** Per host, how the agent's files came: pushed by this controller (bytes sent), relayed by another host, notes. */
  arrivals: Record<string, string[]>;
  /** Each step run, with how long it took (in the order they finished). */
  steps: StepRecord[];
  started: string[];
  restarted: string[];
  /** Members removed from the cluster whose hosts could not be reached to retire them. */
  notCleaned: string[];
  verify: VerifyReport | undefined;
  /** Every file pushed to a host (the agent, the etcd tarball): bytes, seconds, rate. */
  transfers: TransferRecord[];
  error: ErrorDocument | undefined;
}

function blocking(checks: CheckResult[]): CheckResult[] {
  // Closed ports are deploy's to open; skew is deploy's to fix (or to refuse with its own message).
  return checks.filter((c) => c.status === 'fail' && !c.fixedByDeploy && c.check !== 'clock');
}

/**
 * Members on TLS (or on their way) while the inventory says off: tskv moves clusters to TLS, never
 * back to an unauthenticated one.
 */
function refuseLeavingTls(inv: Inventory, hosts: HostInput[]): void {
  if (inv.tls.mode !== 'off') return;
  const other = hosts.filter(
    (h) => h.facts.etcd.dataDir.hasData && (stageOfEnv(h.envFile) ?? 'plain') !== 'plain',
  );
  if (other.length === 0) return;
  throw new TskvError(
    'E_TLS_CHANGE',
    `the cluster runs TLS (${other.map((h) => h.spec.name).join(', ')}), and ${inv.tls.declared ? 'the inventory says tls.mode off' : `the inventory names no tls mode and ${inv.tls.dir} holds no PKI`}: tskv does not move a cluster back to plain HTTP; nothing was changed`,
    {
      step: 'plan',
      fix: inv.tls.declared
        ? `keep tls.mode auto in ${inv.file} for this cluster`
        : `point tls.dir in ${inv.file} at the PKI folder that made this cluster`,
    },
  );
}

/**
 * Undeclared tls.mode and no member ever ran on these hosts: the cluster deploy bootstraps is a TLS
 * one (inventory/tls-default.ts). Decided before the hosts are read, from preflight's facts.
 */
async function adoptTlsForNewCluster(live: LiveCluster, pre: PreflightReport): Promise<void> {
  const inv = live.session.inventory;
  if (inv.tls.declared || inv.tls.mode !== 'off') return;
  const ran = [...pre.observations.values()].some(
    (o) => o.facts.etcd.dataDir.hasData || o.facts.etcd.running.length > 0,
  );
  if (ran) return;
  inv.tls.mode = 'auto';
  // The firewalls were judged for plain HTTP (every port zone-wide): judge them again for TLS.
  await judgeFirewallsAgain(live.session, pre);
}

/** Pass 2 of a move to TLS that would lose quorum for a moment: only with --allow-downtime. */
function refuseDowntime(plan: DeployPlan, options: DeployOptions): void {
  if (!plan.downtime || options.allowDowntime) return;
  throw new TskvError(
    'E_NEEDS_DOWNTIME',
    `not moving the cluster's peers to TLS: ${plan.downtime}; nothing was changed`,
    {
      step: 'plan',
      fix: `add members first (three or more keep quorum throughout), or accept a moment without quorum: ${options.rerun} --allow-downtime`,
    },
  );
}

/**
 * Hosts that trust another CA than the inventory's (tls.dir moved, or the inventory renamed and its
 * default PKI folder with it; with tls.mode files, another tls.ca): new certificates would split
 * the cluster, member by member, into two that cannot talk. `accepted`: what the hosts may trust
 * (acceptedTrust: during a CA rotation, the retiring CA, the new one, or both).
 */
export function refuseOtherCa(
  inv: Inventory,
  hosts: Pick<HostInput, 'spec' | 'tls'>[],
  accepted: readonly string[],
): void {
  const other = hosts.filter((h) => {
    const have = h.tls?.have.get(ETCD_PKI_FILES.ca)?.content;
    // No CA in the PKI folder while the hosts have one: the folder is not the one that made them.
    return have !== undefined && !accepted.includes(have);
  });
  if (other.length === 0) return;
  throw new TskvError(
    'E_TLS_OTHER_CA',
    `${other.map((h) => h.spec.name).join(', ')} trust${other.length === 1 ? 's' : ''} another CA than ${clientTlsSources(inv).ca}: new certificates from it would split the cluster; nothing was changed`,
    {
      step: 'plan',
      fix:
        inv.tls.mode === 'files'
          ? `point tls.ca in ${inv.file} at the CA that made this cluster`
          : `point tls.dir in ${inv.file} at the PKI folder that made this cluster (a new CA for a running cluster: tskv certs rotate --ca)`,
    },
  );
}

/**
 * TLS on, once the hosts are read: refuse hosts of another CA before the PKI changes, then with
 * tls.mode auto (not on a dry run) make or renew what the PKI lacks, and give each host what it
 * should have; with files, the operator's files, checked (again: the command checked them before
 * it reached any host).
 */
async function settleTls(
  inv: Inventory,
  hosts: HostInput[],
  dryRun: boolean,
  result: DeployResult,
): Promise<void> {
  const withWants = async () => {
    for (const h of hosts) if (h.tls) h.tls.want = await tlsWants(inv, h.spec.name);
  };
  // tls.mode files: the operator's files were checked before any host was reached (commands/deploy.ts).
  await withWants();
  // The operator's CA (tls.mode files), or what the PKI folder's hosts may trust.
  const accepted =
    inv.tls.mode === 'files'
      ? hosts.flatMap((h) => h.tls?.want.get(ETCD_PKI_FILES.ca) ?? [])
      : await acceptedTrust(inv.tls.dir);
  refuseOtherCa(inv, hosts, accepted);
  if (dryRun || inv.tls.mode === 'files') return;
  const members = inv.hosts.map((h) => ({ name: h.name, address: h.address }));
  const pki = await ensurePki(inv.tls.dir, members);
  result.actions['pki'] = [...describePkiChanges(pki), ...pki.warnings.map((w) => `warning: ${w}`)];
  if (pki.changes.length > 0) await withWants();
}

/** A version change of the live members etcd does not support, or over a cluster not fully healthy. */
function refuseUnsafeUpgrade(inv: Inventory, gathered: Gathered): void {
  const probes = gathered.view?.probes;
  if (!probes || !gathered.members) return;
  // Judged before the PKI is touched, so from the drift alone (decideClusterMode refuses later).
  const late = (m: EtcdMember) => m.id === staticMemberId(m.peerURLs, inv.cluster.token);
  const { scale } = explainDrift(inv, gathered.members, late);
  // Members this edit adds (a learner an earlier run left) or removes: the roll does not wait on them.
  const changing = new Set([
    ...scale.joins.map((j) => j.host),
    ...scale.leaves.map((m) => m.name || m.idHex),
  ]);
  const installed = new Map(
    gathered.hosts.flatMap((h) =>
      h.facts.etcd.installed ? [[h.spec.name, h.facts.etcd.installed.version]] : [],
    ),
  );
  judgeUpgrade(inv.etcd.version, memberVersions(probes, installed), changing);
}

/** A replacement under way owns the membership until it ends: deploy adds and removes none meanwhile. */
async function refuseDuringReplacement(live: LiveCluster): Promise<void> {
  const j = await live.readJournal();
  if (!j) return;
  throw new TskvError(
    'E_REFUSED',
    `not changing the membership: the replacement ${j.oldName}=${j.new} is under way; nothing was changed`,
    { step: 'plan', fix: 'finish it first (re-run that tskv replace command; tskv status shows it)' },
  );
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
  await adoptTlsForNewCluster(live, pre);
  const gathered = await gatherDeploy(live, pre);
  // The hosts a recovery has not brought back yet are recover's to bring back, not deploy's.
  if (gathered.members) await live.refuseDuringRecovery('deploy');
  refuseLeavingTls(inv, gathered.hosts);
  refuseUnsafeUpgrade(inv, gathered);
  // Before the membership is judged: hosts of another CA get no answer from the members.
  if (tlsOn(inv)) await settleTls(inv, gathered.hosts, options.dryRun, result);
  const decision = decideClusterMode(inv, gathered.runtimes, gathered.members, {
    allowExistingData: options.allowExistingData,
  });
  // A member this plan removes does not hold up the waits of the adds before it (a dead host swapped out).
  for (const m of decision.scale?.leaves ?? []) live.leaving.add(m.id);
  const migration = planTlsMigration(
    inv,
    gathered.hosts.map((h) => ({ spec: h.spec, envFile: h.envFile, hasData: h.facts.etcd.dataDir.hasData })),
    gathered.members,
  );
  const leaving = decision.scale?.leaves ?? [];
  if (!noScale(decision.scale)) await refuseDuringReplacement(live);
  // Members an earlier run removed whose hosts it did not retire (killed in between).
  const leavingRecord = gathered.members
    ? await new Journal(() => live.cluster(), LEAVING_KEY).read(leavingRecordSchema)
    : undefined;
  const plan = planDeploy({
    inv,
    hosts: gathered.hosts,
    decision,
    view: gathered.view,
    leavingRecord,
    exposureWhileLeaving: leaving.length > 0 && tlsOn(inv) ? await clusterExposure(inv, leaving) : undefined,
    leader: gathered.leader,
    migration,
    exposure: pre.exposure,
    snapshot: options.noSnapshot ? undefined : { keep: inv.snapshots.keep },
  });
  refuseDowntime(plan, options);
  await refuseNoSnapshotRoom(live.session, plan.steps);
  return plan;
}

/** What removing members asks: they leave service with their data. */
const removeQuestion = (removes: string[]) =>
  `remove ${removes.join(', ')} from the cluster (one at a time; their data dirs are moved aside, not deleted)`;

function mergeActions(a: Record<string, string[]>, b: Record<string, string[]>): Record<string, string[]> {
  const out = { ...a };
  for (const [host, lines] of Object.entries(b)) out[host] = [...(out[host] ?? []), ...lines];
  return out;
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
    arrivals: session.arrivals,
    steps: [],
    started: [],
    restarted: [],
    notCleaned: [],
    verify: undefined,
    transfers: session.transfers.records,
    error: undefined,
  };
  const live = new LiveCluster(session);
  // Started by the session as it locked each host, else here once the lock is held.
  const prefetch = options.prefetch ?? new TarballPrefetch(inv.etcd.version, tarballSourceOf(inv.etcd));
  // etcd.fetch: host: each host downloads the tarball itself, the controller never reads it.
  const artifact = prefetch.source;
  // Plans after the first (pass 2 of a move to TLS).
  const passes: DeployPlan[] = [];
  // A dry run sends nothing; a real one has the tarball on its way to every host that lacks it
  // while preflight runs (etcd-prefetch.ts).
  let prefetched: Map<string, Promise<TarballState | undefined>> | undefined;
  // Released here, once the pushes have ended (applyChange would release it before them).
  let held: HeldLock | undefined;
  const stillHeld = () => {
    try {
      held?.check();
    } catch (err) {
      // Lost (another run broke it): no more of this run's bytes reach the hosts.
      prefetch.stop(err as Error);
      throw err;
    }
  };
  try {
    const outcome = await applyChange({
      lock: async () => {
        held = await session.lock(options.command, options.breakLock);
        return { check: stillHeld, release: () => {} };
      },
      plan: () => {
        if (!options.dryRun) {
          for (const ch of session.hosts.values()) prefetch.start(ch, session.relay);
          prefetched = prefetch.prefetched;
        }
        return planFromHosts(live, options, result);
      },
      show: (plan) => {
        result.plan = plan;
        result.summary = formatSummary(plan);
        options.showPlan(plan);
      },
      dryRun: options.dryRun,
      yes: options.yes,
      question: (plan) => {
        const what = [
          ...(plan.restarts.length > 0
            ? [
                plan.tlsPass === 'dual'
                  ? `restart ${plan.restarts.join(', ')} twice (running members, one at a time: moving the cluster to TLS)`
                  : `restart ${plan.restarts.join(', ')} (running members, one at a time)`,
              ]
            : []),
          ...(plan.removes?.length ? [removeQuestion(plan.removes)] : []),
        ];
        return what.length > 0 ? { what: what.join(', and '), rerun: options.rerun } : undefined;
      },
      run: async (plan, stillLocked) => {
        if (typeof artifact !== 'function' && prefetched) {
          const installs = plan.steps.flatMap((s) => (s.kind === 'install' ? [live.channel(s.host)] : []));
          await fetchBeforeChanges(installs, artifact, prefetched);
        }
        const runOne = (p: DeployPlan) =>
          isNoop(p)
            ? Promise.resolve<RunResult>({ steps: [], actions: {}, error: undefined })
            : runPlan(p, {
                mode: session.mode,
                beforeEachStep: stillLocked,
                execute: deployExecutor({
                  live,
                  clock: { stepClock: options.stepClock, allowSkew: options.allowSkew },
                  artifact,
                  notCleaned: result.notCleaned,
                  ...(prefetched ? { prefetched } : {}),
                }),
              });
        const first = await runOne(plan);
        if (first.error || plan.tlsPass !== 'dual') return first;
        // Pass 2 of a move to TLS is planned from what pass 1 left, under the same lock and answer.
        const second = await planFromHosts(live, options, result);
        passes.push(second);
        options.showPlan(second);
        const next = await runOne(second);
        return {
          steps: [...first.steps, ...next.steps],
          actions: mergeActions(first.actions, next.actions),
          error: next.error,
        };
      },
    });
    if (outcome.kind === 'dry-run') {
      result.ok = true;
      return result;
    }
    if (outcome.kind === 'declined') {
      const p = outcome.plan;
      const not = [
        ...(p.restarts.length ? [`restarting ${p.restarts.join(', ')}`] : []),
        ...(p.removes?.length ? [`removing ${p.removes.join(', ')}`] : []),
      ];
      throw new TskvError('E_NOT_CONFIRMED', `not ${not.join(' nor ')}: not confirmed; nothing was changed`, {
        step: 'confirm',
        fix: 'answer yes, or pass --yes',
      });
    }
    const run = outcome.result;
    result.plan = outcome.plan;
    result.actions = { ...result.actions, ...run.actions };
    result.steps = run.steps;
    const finished = new Set(run.steps.map((r) => `${r.kind}@${r.host}`));
    passes.unshift(outcome.plan);
    result.started = [...new Set(passes.flatMap((p) => p.starts))].filter((h) => finished.has(`start@${h}`));
    result.restarted = [...new Set(passes.flatMap((p) => p.restarts))].filter((h) =>
      finished.has(`restart@${h}`),
    );
    if (run.error) throw run.error;
    result.verify = await verifyCluster(live);
    result.ok = true;
  } catch (err) {
    result.error = errorDocument(err);
  } finally {
    // A failed preflight must not leave a push running when the connections close.
    // Lost while no step ran (preflight, the plan, the question): its pushes stop here.
    try {
      stillHeld();
    } catch {
      // the run's error, if any, is already in the result
    }
    // (Also those started as the lock was taken, when the plan was never made.) A run that stops
    // short (a failed preflight, a declined plan) lets them end under its lock: the next run finds
    // the tarball in the hosts' cache, and no other run's hosts see this one's writes.
    await Promise.all(prefetch.prefetched.values());
    held?.release();
    await live.close();
  }
  return result;
}

/** Facts + inventory → deploy's plan: every step with what it writes. Pure: the play gathers, this decides, plan/ prints. */
import type { FactsResponse, FirewallOpenRequest, FirewallStateResponse } from '../../agent/api/index.ts';
import { TskvError } from '../errors.ts';
import type { HostSpec, Inventory } from '../inventory/model.ts';
import type { Plan, Step } from '../plan/plan.ts';
import { ETCD_BINARY } from '../render/settings.ts';
import { type ClusterDecision, type ClusterMode, hasRun } from './cluster-mode.ts';
import type { ClusterView } from './cluster-view.ts';
import { chooseState, desiredConfig, type FileAccess, keepInitialSettings, planConfig } from './config.ts';
import { type Exposure, planFirewall, planFirewallWhileLeaving } from './firewall-plan.ts';
import { planInstall } from './install.ts';
import {
  type Join,
  type LeavingHost,
  type LeavingRecord,
  leftovers,
  noScale,
  orderNote,
  planScale,
  type ScalePlan,
  type ScaleStep,
} from './scale-plan.ts';
import { planService, restartOrder } from './service.ts';
import { type SnapshotStep, snapshotStep } from './snapshot-step.ts';
import { type HostFile, planTlsFiles } from './tls-files.ts';
import type { TlsMigration } from './tls-migration.ts';
import { type Upgrade, upgradeLine } from './upgrade-plan.ts';

/** deploy's steps, each carrying what it writes, so running one never works it out again. */
export type DeployStep =
  | (Step & { kind: 'clock'; host: string })
  /** The cluster: after the syncs, every clock within etcd's 1 s of the others. */
  | (Step & { kind: 'clock-check' })
  /** `stage`: unpacked beside the running version, linked at the member's restart (its `switch`). */
  | (Step & { kind: 'install'; host: string; version: string; stage?: true })
  | (Step & { kind: 'firewall'; host: string; request: FirewallOpenRequest })
  | (Step & { kind: 'config'; host: string; env: string })
  | (Step & { kind: 'unit'; host: string; unit: string })
  /** The member's TLS files (host paths), read from the PKI folder when written: never in the plan. */
  | (Step & { kind: 'tls'; host: string; paths: string[] })
  /** A TLS migration's second pass: the member's registered peer URL becomes https (ops/tls-migration.ts). */
  | (Step & { kind: 'peer-urls'; host: string; peerUrl: string })
  | (Step & { kind: 'start'; host: string })
  /** `switch`: a rolling upgrade's member: link `to`, restart, caught up; else back to `from`. */
  | (Step & { kind: 'restart'; host: string; switch?: Upgrade })
  /** Before the first restart or remove: a snapshot on a running member's host (ops/snapshot-step.ts). */
  | SnapshotStep
  /** Hosts joining and members leaving the cluster (ops/scale-plan.ts). */
  | ScaleStep;

export interface DeployPlan extends Plan<DeployStep> {
  mode: ClusterMode;
  /** Each host's state in a few words, in inventory order ("etcd 3.4.23, running (pid 812)"). */
  hosts: { host: string; summary: string }[];
  /** Running members to restart, one at a time, in this order (followers first, the leader last). */
  restarts: string[];
  /** Members not running that start (all together when bootstrapping). */
  starts: string[];
  /** The leader's host when the plan was made (it restarts last), if the cluster ran. */
  leader: string | undefined;
  /** Which pass of a move to TLS this plan is, if it is one (ops/tls-migration.ts). */
  tlsPass?: 'dual' | 'tls';
  /** Why this plan cannot keep quorum throughout, if it cannot: deploy wants --allow-downtime. */
  downtime?: string;
  /** A rolling version change of the running members ("upgrade etcd A → B: ...": upgradeLine). */
  upgrade?: string;
  /** Hosts the plan adds to the cluster and members it removes, in order (ops/scale-plan.ts). */
  adds?: string[];
  removes?: string[];
  /** The removed members' hosts, retired after their removal. */
  leaving?: LeavingHost[];
  /** The order of a membership change and why. */
  order?: string;
  /** What the resulting cluster's size is warned about (even, more than 7). */
  warnings?: string[];
}

export interface HostInput {
  spec: HostSpec;
  facts: FactsResponse;
  firewall: FirewallStateResponse;
  /** etcd runs under tskv's service on the host. */
  running: boolean;
  pid: number | null;
  /** Why the running etcd needs a restart though its files are right (see the agent's service status). */
  stale?: string | undefined;
  envFile: string | undefined;
  /** The env file's mode and owner, when it exists. */
  envAccess: FileAccess | undefined;
  unitFile: string | undefined;
  /** The version the running member reports (its /v3/maintenance/status), when it answered. */
  memberVersion?: string | undefined;
  /** The user the running etcd runs as (root where an older tskv started it). */
  runsAs: string | undefined;
  /** The preflight clock check failed on this host: what it observed. */
  clockProblem: string | undefined;
  /** TLS on: the TLS files by host path, as the controller has them and as the host has them. */
  tls?: { want: Map<string, string | undefined>; have: ReadonlyMap<string, HostFile | undefined> };
}

export interface PlanInput {
  inv: Inventory;
  hosts: HostInput[];
  decision: ClusterDecision;
  /** The current leader's host, if the cluster runs. */
  leader: string | undefined;
  /** A running plain-HTTP cluster on its way to TLS. */
  migration?: TlsMigration | undefined;
  /** Who the firewalls let in on the client and peer ports (firewall-plan.ts). */
  exposure: Exposure;
  /** Take a snapshot before the first restart, keeping the newest `keep` on its host (absent: --no-snapshot). */
  snapshot?: { keep: number } | undefined;
  /** The live cluster's members, health and leader (membership changes are planned from it). */
  view?: ClusterView | undefined;
  /** Members leave (TLS on): the exposure that still lets them in until they are removed. */
  exposureWhileLeaving?: Exposure | undefined;
  /** Members deploy recorded as leaving (ops/scale-plan.ts LEAVING_KEY). */
  leavingRecord?: LeavingRecord | undefined;
}

/** The membership change the inventory asks for, when the cluster runs and the inventory explains one. */
function scalePlan(input: PlanInput): ScalePlan | undefined {
  const { decision, view } = input;
  const recorded = input.leavingRecord ?? [];
  const left = view ? leftovers(input.inv, recorded, view.members) : [];
  if (noScale(decision.scale) && left.length === 0) return undefined;
  if (view === undefined) {
    // Without the members' health no removal can be judged, and a joining host must not start alone.
    throw new TskvError(
      'E_NO_CLUSTER',
      'the inventory adds or removes members, but the members did not answer a status check; nothing was changed',
      { step: 'plan', fix: 'tskv status shows which members are down; re-run deploy once they answer' },
    );
  }
  const running = new Set(input.hosts.filter((h) => h.running).map((h) => h.spec.name));
  refuseTakingOver(input.hosts, decision.scale?.joins ?? []);
  return planScale({
    inv: input.inv,
    drift: decision.scale ?? { joins: [], leaves: [] },
    view,
    running,
    recorded,
  });
}

/**
 * A host joining afresh (no member at its address yet) that runs etcd or holds etcd data already:
 * the same machine under a new name or address, or another cluster's. Joining would stop that etcd,
 * or start the old data under its old identity: refused, the way member add asks first.
 */
function refuseTakingOver(hosts: HostInput[], joins: Join[]): void {
  const taken = joins.flatMap((j) => {
    const h = j.member ? undefined : hosts.find((x) => x.spec.name === j.host);
    if (!h || (!h.running && !h.facts.etcd.dataDir.hasData)) return [];
    return [`${j.host} (${h.running ? 'etcd runs there' : `etcd data in ${h.facts.etcd.dataDir.path}`})`];
  });
  if (taken.length === 0) return;
  const first = joins.find((j) => taken[0]!.startsWith(`${j.host} `))!.host;
  throw new TskvError(
    'E_EXISTING_DATA',
    `joining the cluster, but already running or holding etcd of their own: ${taken.join(', ')}; deploy does not take over a host's etcd; nothing was changed`,
    {
      host: first,
      step: 'plan',
      fix: `if the inventory renamed or re-addressed a member, put its name and address back; else stop etcd there and move its data dir aside, or run tskv member add INVENTORY ${first} --start, which asks before it clears the host`,
    },
  );
}

function summary(h: HostInput): string {
  const installed = h.facts.etcd.installed;
  const etcd = installed ? `etcd ${installed.version}` : 'no etcd';
  const state = h.running
    ? `running (pid ${h.pid ?? '?'}${h.runsAs ? `, user ${h.runsAs}` : ''})`
    : h.facts.etcd.dataDir.hasData
      ? 'stopped, has data'
      : 'stopped';
  return `${etcd}, ${state}`;
}

/**
 * The order things happen in: clocks, then every host prepared side by side (etcd installed, ports
 * opened, config written where the member is about to start), then the stopped members started
 * together, then each running member that changes, alone: its config, then its restart.
 */
export function planDeploy(input: PlanInput): DeployPlan {
  const { inv, decision, migration } = input;
  const bootstrapping = decision.mode.kind === 'new';
  const clock: DeployStep[] = [];
  const prepare: DeployStep[] = [];
  const start: DeployStep[] = [];
  const restart = new Map<string, DeployStep[]>();
  const narrow: DeployStep[] = [];
  const scale = scalePlan(input);
  const joining = new Set(scale?.adding);
  for (const h of input.hosts) {
    const host = h.spec.name;
    if (h.clockProblem) {
      clock.push({
        kind: 'clock',
        host,
        title: `sync the clock (${h.clockProblem})`,
        together: 'sync clocks',
      });
    }
    // A running member's version changes at its own restart: the new one is staged, then switched to.
    // What it runs, not what it links (a run of an older tskv relinked every host first).
    const installed = h.facts.etcd.installed;
    const runs = h.memberVersion ?? installed?.version;
    const upgrade =
      h.running &&
      !bootstrapping &&
      installed?.path === ETCD_BINARY &&
      runs !== undefined &&
      runs !== inv.etcd.version
        ? { from: runs, to: inv.etcd.version }
        : undefined;
    const install = planInstall(h.facts, inv.etcd, upgrade !== undefined);
    if (install) {
      prepare.push({
        kind: 'install',
        host,
        version: inv.etcd.version,
        title: install,
        ...(upgrade ? { stage: true as const } : {}),
      });
    }
    const leaving = scale?.removing.length && input.exposureWhileLeaving;
    const fw = leaving
      ? planFirewallWhileLeaving(h.firewall, input.exposure, leaving)
      : { prepare: planFirewall(h.firewall, input.exposure), narrow: undefined };
    const firewall = fw.prepare;
    if (firewall) prepare.push({ kind: 'firewall', host, request: firewall.request, title: firewall.title });
    if (fw.narrow)
      narrow.push({
        kind: 'firewall',
        host,
        ...fw.narrow,
        together: 'narrow the firewalls to the remaining members',
      });
    const member = decision.memberByHost.get(host);
    const memberStarted = member ? hasRun(member) : h.facts.etcd.dataDir.hasData;
    const rendered = desiredConfig(
      inv,
      host,
      chooseState(h.envFile, bootstrapping, memberStarted),
      h.facts.init.systemd,
      migration?.dual.has(host) ? 'dual' : undefined,
    );
    // A member moving to TLS restarts anyway: its bootstrap settings move with it.
    const want =
      memberStarted && h.facts.etcd.dataDir.hasData && !migration?.moving.has(host)
        ? keepInitialSettings(rendered, h.envFile)
        : rendered;
    const newPeerUrl = migration?.peerUpdates.get(host);
    const config = planConfig(want, h.envFile, h.unitFile, h.envAccess);
    const tls = h.tls && planTlsFiles(h.tls.want, h.tls.have);
    if (joining.has(host)) {
      // A joining host gets its config and starts in its add step (initial-cluster-state existing).
      if (tls) prepare.push({ kind: 'tls', host, paths: tls.paths, title: tls.title });
      continue;
    }
    const files: DeployStep[] = [
      ...(tls ? [{ kind: 'tls' as const, host, paths: tls.paths, title: tls.title }] : []),
      ...(config.env
        ? [{ kind: 'config' as const, host, env: want.env, title: config.env.title, diff: config.env.diff }]
        : []),
      ...(config.unit && want.unit !== undefined
        ? [{ kind: 'unit' as const, host, unit: want.unit, ...config.unit }]
        : []),
      ...(newPeerUrl
        ? [
            {
              kind: 'peer-urls' as const,
              host,
              peerUrl: newPeerUrl,
              title: `member update ${host}: peer URL ${newPeerUrl} (its peers reach it over TLS once it restarts)`,
            },
          ]
        : []),
    ];
    const service = planService({
      running: h.running,
      // A new mode or owner of the env file alone: the same settings, no restart.
      configChanged:
        (config.env !== undefined && !config.env.accessOnly) ||
        config.unit !== undefined ||
        tls?.restart === true ||
        newPeerUrl !== undefined,
      installChanged: install !== undefined || upgrade !== undefined,
      stale: h.stale,
      bootstrapping,
      runsAs: h.runsAs,
      dataDir: h.facts.etcd.dataDir.hasData ? h.facts.etcd.dataDir : undefined,
    });
    if (service === undefined) {
      prepare.push(...files);
    } else if (service.kind === 'start') {
      prepare.push(...files);
      start.push({ kind: 'start', host, title: service.title, together: 'start etcd' });
    } else {
      // A running member gets its new files just before its own restart, not while the others run.
      const title = upgrade
        ? `switch to etcd ${upgrade.to} and restart; healthy and caught up with the leader before the next (back to ${upgrade.from} if not)`
        : service.title;
      restart.set(host, [
        ...files,
        { kind: 'restart', host, title, ...(upgrade ? { switch: upgrade } : {}) },
      ]);
    }
  }
  // A member whose peer URL moved to TLS but that still serves plain peers (a move to TLS stopped
  // between the two) is cut off from its peers: it restarts first, before anything counts on it.
  const cutOff = (h: string) => migration?.moving.has(h) === true && !migration.peerUpdates.has(h);
  const restarts = restartOrder(
    [...[...restart.keys()].filter(cutOff), ...[...restart.keys()].filter((h) => !cutOff(h))],
    cutOff(input.leader ?? '') ? undefined : input.leader,
  );
  // Before the first restart or remove, on a running member that stays.
  const snapshotAt =
    restarts.length > 0 || (scale?.removing.length ?? 0) > 0
      ? (input.hosts.find((h) => h.running && !joining.has(h.spec.name))?.spec.name ?? restarts[0])
      : undefined;
  const steps: DeployStep[] = [
    ...clock,
    ...(clock.length > 0
      ? [{ kind: 'clock-check' as const, title: "check that every host's clock is within 1 s of the others" }]
      : []),
    ...prepare.map((s) => ({ ...s, together: 'install etcd, open the firewall, write configuration' })),
    ...start.map((s) => ({
      ...s,
      ...(bootstrapping
        ? { together: 'start all members together (--initial-cluster-state new)', allAtOnce: true }
        : { together: 'start stopped members' }),
    })),
    ...(snapshotAt !== undefined && input.snapshot ? [snapshotStep(snapshotAt, input.snapshot.keep)] : []),
    ...(scale?.adds ?? []),
    ...restarts.flatMap((h) => restart.get(h)!),
    ...(scale?.removes ?? []),
    ...(scale?.removes.length ? narrow : []),
  ];
  return {
    mode: decision.mode,
    hosts: [
      ...input.hosts.map((h) => ({ host: h.spec.name, summary: summary(h) })),
      ...(scale?.leaving ?? []).map((l) => ({
        host: l.name,
        summary: l.removed
          ? `removed from the cluster at ${l.address}; its host is not retired yet`
          : `member at ${l.address}, not in the inventory: leaving the cluster`,
      })),
    ],
    steps,
    restarts,
    starts: start.map((s) => s.host!),
    leader: input.leader,
    ...(migration ? { tlsPass: migration.pass } : {}),
    ...(migration?.downtime ? { downtime: migration.downtime } : {}),
    ...upgradeOf(steps),
    ...(scale ? scaleFields(scale, snapshotAt !== undefined && input.snapshot !== undefined, restarts) : {}),
  };
}

function scaleFields(scale: ScalePlan, snapshot: boolean, restarts: string[]): Partial<DeployPlan> {
  const order = orderNote({ snapshot, adding: scale.adding, restarts, removing: scale.removing });
  return {
    adds: scale.adding,
    removes: scale.removing,
    leaving: scale.leaving,
    warnings: scale.warnings,
    ...(order ? { order } : {}),
  };
}

/** The plan's upgrade line, when its restarts switch versions. */
function upgradeOf(steps: DeployStep[]): { upgrade?: string } {
  const switched = steps.flatMap((s) => (s.kind === 'restart' && s.switch ? [s.switch] : []));
  const first = switched[0];
  if (!first) return {};
  const from = [...new Set(switched.map((u) => u.from))].join(', ');
  return { upgrade: upgradeLine({ from, to: first.to }) };
}

/** The steps on one host, in plan order. */
export function stepsOf(plan: DeployPlan, host: string): DeployStep[] {
  return plan.steps.filter((s) => s.host === host);
}

/** The changes on hosts (the cluster's own checks do not count). */
export function changeCount(plan: DeployPlan): number {
  return plan.steps.filter((s) => s.host !== undefined).length;
}

export function isNoop(plan: DeployPlan): boolean {
  return changeCount(plan) === 0;
}

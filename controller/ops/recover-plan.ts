/**
 * `tskv recover`: a cluster that lost its quorum for good, rebuilt around its most up-to-date
 * survivor. Planned from what every reachable host says: the survivor (the voter with the highest
 * raft index), what may be lost, and the steps: snapshot it, stop etcd everywhere else, restart it
 * alone with --force-new-cluster, then every other inventory host back as a new member, one at a
 * time, through replace's learner steps. Resumable: once the survivor serves alone, a record in
 * etcd says a recovery is under way, and the live state says how far it got. Pure.
 */
import { z } from 'zod';
import { TSKV_SNAPSHOT_DIR } from '../../agent/api/index.ts';
import type { HostSpec, Inventory } from '../inventory/model.ts';
import { tlsOn } from '../inventory/tls.ts';
import type { Step } from '../plan/plan.ts';
import { peerUrl } from '../render/urls.ts';
import { type ClusterView, isHealthy, voters } from './cluster-view.ts';
import { hostAt, memberAt } from './membership.ts';
import { type ReplaceStep, replaceSteps } from './replace-plan.ts';
import { chooseSurvivor, describeLosses, hasQuorum } from './survivor.ts';

/** What a recovery records once its survivor serves alone, so a re-run finishes it. */
export const recoverJournalSchema = z.object({
  recover: z.literal(true),
  survivor: z.string(),
  raftIndex: z.number(),
  startedAt: z.string(),
});
export type RecoverJournal = z.infer<typeof recoverJournalSchema>;

export type RecoverStep =
  | ReplaceStep
  | (Step &
      (
        | { kind: 'snapshot'; host: string }
        | { kind: 'stop-etcd'; host: string }
        /** Restart the survivor alone with --force-new-cluster: its member list becomes itself only. */
        | { kind: 'force-new-cluster'; host: string }
        /** Its config back without --force-new-cluster (which must never apply twice), restarted. */
        | { kind: 'drop-force-flag'; host: string }
        | { kind: 'record'; record: RecoverJournal }
      ));

export const recoverSteps = {
  snapshot: (host: string): RecoverStep => ({
    kind: 'snapshot',
    host,
    title: `take a snapshot of ${host}'s data, kept on ${host} under ${TSKV_SNAPSHOT_DIR}`,
  }),
  stopEtcd: (host: string): RecoverStep => ({
    kind: 'stop-etcd',
    host,
    title: `stop etcd on ${host} (its data stays where it is until ${host} rejoins)`,
    together: 'stop etcd on every other host',
  }),
  forceNewCluster: (host: string): RecoverStep => ({
    kind: 'force-new-cluster',
    host,
    title: `restart etcd on ${host} alone with --force-new-cluster (its member list becomes ${host} only; its data stays)`,
  }),
  dropForceFlag: (host: string): RecoverStep => ({
    kind: 'drop-force-flag',
    host,
    title: `write ${host}'s config back without --force-new-cluster, restart it and wait until it is healthy`,
  }),
  record: (j: RecoverJournal): RecoverStep => ({
    kind: 'record',
    record: j,
    title: `record the recovery around ${j.survivor} in the cluster (so a re-run resumes it)`,
  }),
  clearRecord: (): RecoverStep => ({ kind: 'clear-record', title: 'clear the recovery record' }),
};

export type RecoverPlan =
  | { kind: 'refuse'; reason: string; fix?: string }
  | { kind: 'done'; reason: string }
  | {
      kind: 'steps';
      /** force: the quorum is lost now; resume: an earlier run's survivor already serves alone. */
      mode: 'force' | 'resume';
      survivor: string;
      raftIndex: number | undefined;
      /** What may be lost, in words (force only). */
      losses: string[];
      warnings: string[];
      /** The hosts that come back as new members, in order. */
      rejoin: string[];
      steps: RecoverStep[];
    };

export interface RecoverInput {
  inv: Inventory;
  /** The live cluster as the answering members see it (health carries each one's raft index). */
  view: ClusterView;
  /** Inventory hosts reachable over SSH (their agent up). */
  connected: ReadonlySet<string>;
  /** Hosts whose env file still says ETCD_FORCE_NEW_CLUSTER (an interrupted run). */
  forceFlag: ReadonlySet<string>;
  /** Hosts whose etcd does not answer though their data dir has data. */
  stoppedWithData: ReadonlySet<string>;
  /** The recovery record, when one is in etcd. */
  journal: RecoverJournal | undefined;
  now?: Date;
}

const refuse = (reason: string, fix?: string): RecoverPlan => ({
  kind: 'refuse',
  reason,
  ...(fix === undefined ? {} : { fix }),
});

/**
 * One host back as a new member, replace's learner steps from where the live state is: absent
 * (fresh data dir, added as a learner), a learner (started, caught up, promoted), or a voter not
 * healthy yet (started, waited for).
 */
export function rejoinSteps(inv: Inventory, view: ClusterView, host: HostSpec): ReplaceStep[] {
  const s = replaceSteps;
  const url = peerUrl(host, inv);
  const m = memberAt(inv, view.members, host);
  const letIn = tlsOn(inv) ? [s.letIn(host, inv)] : [];
  if (!m) {
    return [
      s.clearHost(host.name, [host.dataDir], `a fresh data dir for ${host.name}; its old data is kept`),
      s.prepareHost(host.name, inv),
      ...letIn,
      s.addMember(host.name, [url], true),
      s.startMember(host.name),
      s.waitCaughtUp(host.name),
      s.promote(host.name),
      s.waitHealthy(host.name),
    ];
  }
  if (m.isLearner) {
    return [
      s.prepareHost(host.name, inv),
      ...letIn,
      s.startMember(host.name),
      s.waitCaughtUp(host.name),
      s.promote(host.name),
      s.waitHealthy(host.name),
    ];
  }
  if (!m.started || !isHealthy(view, m)) {
    return [s.prepareHost(host.name, inv), s.startMember(host.name), s.waitHealthy(host.name)];
  }
  return [];
}

function unreachableRefusal(inv: Inventory, connected: ReadonlySet<string>): RecoverPlan | undefined {
  const gone = inv.hosts.filter((h) => !connected.has(h.name)).map((h) => h.name);
  if (gone.length === 0) return undefined;
  return refuse(
    `${gone.join(', ')} ${gone.length > 1 ? 'are' : 'is'} not reachable over SSH: recover asks every inventory host for its raft index and brings every one back`,
    `bring ${gone.length > 1 ? 'them' : 'it'} back, or take ${gone.length > 1 ? 'them' : 'it'} out of ${inv.file} (add hosts later with tskv member add), then re-run`,
  );
}

/** The rejoin steps of every inventory host but the survivor, in inventory order. */
function rejoinAll(
  inv: Inventory,
  view: ClusterView,
  survivor: string,
): { rejoin: string[]; steps: RecoverStep[] } {
  const rejoin: string[] = [];
  const steps: RecoverStep[] = [];
  for (const h of inv.hosts) {
    if (h.name === survivor) continue;
    const more = rejoinSteps(inv, view, h);
    if (more.length === 0) continue;
    rejoin.push(h.name);
    steps.push(...more);
  }
  return { rejoin, steps };
}

/** A cluster with quorum: finish an earlier recovery, or nothing to do, or refuse (replace is the tool). */
function planWithQuorum(input: RecoverInput): RecoverPlan {
  const { inv, view, journal, forceFlag } = input;
  const flagged = inv.hosts.find((h) => forceFlag.has(h.name));
  if (!journal && !flagged) {
    const sick = view.members.filter((m) => !isHealthy(view, m) || !hostAt(inv, m));
    const missing = inv.hosts.filter((h) => !memberAt(inv, view.members, h));
    if (sick.length === 0 && missing.length === 0) {
      return {
        kind: 'done',
        reason: 'the cluster has quorum and every inventory host is a healthy member: nothing to recover',
      };
    }
    const healthy = voters(view.members).filter((m) => isHealthy(view, m)).length;
    return refuse(
      `the cluster has quorum (${healthy} of ${voters(view.members).length} voters healthy): recover is only for a cluster that lost it`,
      `replace the members that are gone: tskv replace ${inv.file} OLD=NEW (tskv status shows which are down); tskv deploy starts members that are only stopped`,
    );
  }
  const survivorName = journal?.survivor ?? flagged!.name;
  const survivorHost = inv.hosts.find((h) => h.name === survivorName);
  if (!survivorHost) {
    return refuse(
      `an earlier recovery was rebuilding around ${survivorName}, which is not a host in ${inv.file}`,
      `put ${survivorName} back into ${inv.file} and re-run`,
    );
  }
  const unreachable = unreachableRefusal(inv, input.connected);
  if (unreachable) return unreachable;
  const { rejoin, steps } = rejoinAll(inv, view, survivorName);
  const j: RecoverJournal = journal ?? {
    recover: true,
    survivor: survivorName,
    raftIndex: 0,
    startedAt: (input.now ?? new Date()).toISOString(),
  };
  return {
    kind: 'steps',
    mode: 'resume',
    survivor: survivorName,
    raftIndex: journal?.raftIndex,
    losses: [],
    warnings: [],
    rejoin,
    steps: [
      ...(flagged ? [recoverSteps.dropForceFlag(flagged.name)] : []),
      ...(journal ? [] : [recoverSteps.record(j)]),
      ...steps,
      recoverSteps.clearRecord(),
    ],
  };
}

/** The recovery's plan from the live state (see RecoverInput). */
export function planRecover(input: RecoverInput): RecoverPlan {
  const { inv, view, connected } = input;
  if (hasQuorum(view)) return planWithQuorum(input);
  const survivor = chooseSurvivor(inv, view, connected);
  if (!survivor) {
    return refuse(
      'no voting member answers on a reachable inventory host: recover needs one surviving member with its data',
      `start etcd where a member's data survives (tskv deploy ${inv.file} starts stopped members), or rebuild from a snapshot: tskv restore ${inv.file} FILE`,
    );
  }
  const unreachable = unreachableRefusal(inv, connected);
  if (unreachable) return unreachable;
  const others = inv.hosts.filter((h) => h.name !== survivor.host);
  const warnings = others
    .filter((h) => input.stoppedWithData.has(h.name))
    .map(
      (h) =>
        `${h.name}'s etcd does not run but its data dir ${h.dataDir} has data: its raft index is unknown; if it may be newer than ${survivor.host}'s, answer no, start etcd on ${h.name} and re-run (recover moves that data aside, never deletes it)`,
    );
  // The survivor serves alone from here: the other hosts are not members of its cluster any more.
  const alone: ClusterView = {
    members: [survivor.member],
    health: new Map([[survivor.member.id, { ...view.health.get(survivor.member.id)!, healthy: true }]]),
    leaderId: survivor.member.id,
  };
  const { rejoin, steps } = rejoinAll(inv, alone, survivor.host);
  const j: RecoverJournal = {
    recover: true,
    survivor: survivor.host,
    raftIndex: survivor.raftIndex,
    startedAt: (input.now ?? new Date()).toISOString(),
  };
  return {
    kind: 'steps',
    mode: 'force',
    survivor: survivor.host,
    raftIndex: survivor.raftIndex,
    losses: describeLosses(view, survivor),
    warnings,
    rejoin,
    steps: [
      recoverSteps.snapshot(survivor.host),
      ...others.map((h) => recoverSteps.stopEtcd(h.name)),
      recoverSteps.forceNewCluster(survivor.host),
      recoverSteps.dropForceFlag(survivor.host),
      recoverSteps.record(j),
      ...steps,
      recoverSteps.clearRecord(),
    ],
  };
}

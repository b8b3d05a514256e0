/**
 * Rolling replacement of one member (OLD=NEW), planned from the live cluster: the ordered steps, or
 * a refusal with the reason, before anything changes. Resumable: a journal (kept in etcd by the
 * play) says a replacement was under way, and the live state says how far it got. Pure.
 */
import { z } from 'zod';
import { type EtcdId, type EtcdMember, findMember, idToHex } from '../etcd/index.ts';
import type { HostSpec, Inventory } from '../inventory/model.ts';
import { dataDirOf } from '../inventory/normalise.ts';
import { tlsOn } from '../inventory/tls.ts';
import type { Step } from '../plan/plan.ts';
import { peerUrl } from '../render/urls.ts';
import { type ClusterView, changesInFlight, quorumOf, unhealthyOthers, voters } from './cluster-view.ts';
import { hostAt, memberLabel } from './membership.ts';

export interface ReplacePair {
  /** A member's name or hex ID, as the operator typed it. */
  old: string;
  /** An inventory host. */
  new: string;
}

/** learner: NEW elsewhere joins as a learner first. in-place: NEW takes OLD's address (the seed's h102 → new-h102). */
export type ReplaceMode = 'learner' | 'in-place';

/** What a replacement records before its first change, so a re-run knows it was under way. */
export const replaceJournalSchema = z.object({
  old: z.string(),
  oldId: z.string().regex(/^\d+$/, 'a member ID in decimal'),
  oldName: z.string(),
  oldPeerURLs: z.array(z.string()),
  new: z.string(),
  mode: z.enum(['learner', 'in-place']),
  startedAt: z.string(),
});
export type ReplaceJournal = z.infer<typeof replaceJournalSchema>;

/** The replacement's steps, each with what it acts on (see plays/replace-steps.ts for how each runs). */
export type ReplaceStep = Step &
  (
    | { kind: 'record'; record: ReplaceJournal }
    | { kind: 'check-others-healthy'; exceptId: EtcdId }
    | { kind: 'add-member'; host: string; peerURLs: string[]; learner: boolean }
    /** Stop etcd on the host and move its data dirs aside (never a live member's data). */
    | { kind: 'clear-host'; host: string; dataDirs: string[]; why: string }
    /** Install etcd and open the client and peer ports (before the cluster changes). */
    | { kind: 'prepare-host'; host: string }
    /** TLS on: every member's firewall lets the host in (before it is added). */
    | { kind: 'let-in'; host: string }
    /** Write its config (state existing, initial cluster from the live list), start it. */
    | { kind: 'start-member'; host: string }
    | { kind: 'wait-caught-up'; host: string }
    | { kind: 'promote'; host: string }
    /** Hand leadership to another healthy voter if OLD leads at that moment. */
    | { kind: 'move-leader-away'; id: EtcdId; name: string }
    | { kind: 'remove-member'; id: EtcdId; name: string }
    | { kind: 'wait-healthy'; host: string }
    | { kind: 'clear-record' }
    /** Before the change: a snapshot kept on a healthy member's host (ops/snapshot-step.ts). */
    | { kind: 'snapshot'; host: string; keep: number }
  );

/** Each step as the operator reads it in the plan, one sentence naming hosts and paths. */
export const replaceSteps = {
  record: (j: ReplaceJournal): ReplaceStep => ({
    kind: 'record',
    record: j,
    title: `record the replacement ${j.oldName}=${j.new} in the cluster (so a re-run resumes it)`,
  }),
  checkOthersHealthy: (exceptId: EtcdId): ReplaceStep => ({
    kind: 'check-others-healthy',
    exceptId,
    title: 'check that every other member is healthy',
  }),
  addMember: (host: string, peerURLs: string[], learner: boolean): ReplaceStep => ({
    kind: 'add-member',
    host,
    peerURLs,
    learner,
    title: `add ${host} (${peerURLs.join(',')}) to the cluster as a ${learner ? 'learner' : 'voting member'}`,
  }),
  clearHost: (host: string, dataDirs: string[], why: string): ReplaceStep => ({
    kind: 'clear-host',
    host,
    dataDirs,
    why,
    title: `stop etcd on ${host} and move ${dataDirs.join(', ')} aside (${why})`,
  }),
  prepareHost: (host: string, inv: Inventory): ReplaceStep => ({
    kind: 'prepare-host',
    host,
    title: `install etcd ${inv.etcd.version} on ${host} and open ports ${inv.cluster.clientPort}/tcp and ${inv.cluster.peerPort}/tcp${tlsOn(inv) ? `, and place its TLS certificates${inv.tls.mode === 'auto' ? ' (issued where the PKI has none)' : ''}` : ''}`,
  }),
  letIn: (host: HostSpec, inv: Inventory): ReplaceStep => ({
    kind: 'let-in',
    host: host.name,
    title: `let ${host.name} (${host.address}) in through every member's firewall on ${inv.cluster.peerPort}/tcp${inv.cluster.clientSources ? ` and ${inv.cluster.clientPort}/tcp` : ''}`,
  }),
  startMember: (host: string): ReplaceStep => ({
    kind: 'start-member',
    host,
    title: `write ${host}'s config (initial-cluster-state existing, the live member list) and start etcd`,
  }),
  waitCaughtUp: (host: string): ReplaceStep => ({
    kind: 'wait-caught-up',
    host,
    title: `wait until ${host} has started and caught up with the leader's raft index`,
  }),
  promote: (host: string): ReplaceStep => ({
    kind: 'promote',
    host,
    title: `promote ${host} to a voting member`,
  }),
  moveLeaderAway: (id: EtcdId, name: string): ReplaceStep => ({
    kind: 'move-leader-away',
    id,
    name,
    title: `move leadership away from ${name} if it leads`,
  }),
  removeMember: (id: EtcdId, name: string): ReplaceStep => ({
    kind: 'remove-member',
    id,
    name,
    title: `remove ${name} (${idToHex(id)}) from the cluster`,
  }),
  waitHealthy: (host: string): ReplaceStep => ({
    kind: 'wait-healthy',
    host,
    title: `wait until ${host} and every other member are healthy`,
  }),
  clearRecord: (): ReplaceStep => ({ kind: 'clear-record', title: 'clear the replacement record' }),
};

export type ReplacePlan =
  | { kind: 'refuse'; reason: string; fix?: string }
  | { kind: 'done'; reason: string }
  | {
      kind: 'steps';
      mode: ReplaceMode;
      pair: ReplacePair;
      oldName: string;
      oldId: EtcdId;
      /** A journal was found: this run continues an earlier one. */
      resumed: boolean;
      steps: ReplaceStep[];
      warnings: string[];
    };

const refuse = (reason: string, fix?: string): ReplacePlan => ({
  kind: 'refuse',
  reason,
  ...(fix === undefined ? {} : { fix }),
});

/** Does the journal describe this pair? (OLD may be given by name or ID.) */
export function journalMatches(j: ReplaceJournal, pair: ReplacePair): boolean {
  const old = pair.old.toLowerCase().replace(/^0x/, '');
  return j.new === pair.new && (j.old === pair.old || j.oldName === pair.old || idToHex(j.oldId) === old);
}

/** The same pairs checked together: one change per member, and no member both replaced and replacing. */
export function checkPairs(pairs: ReplacePair[]): string | undefined {
  const olds = new Set<string>();
  const news = new Set<string>();
  for (const p of pairs) {
    if (p.old === p.new) {
      return `${p.old}=${p.new}: a member cannot replace itself (to rebuild it in place, rename it in the inventory)`;
    }
    if (olds.has(p.old)) return `${p.old} is replaced twice: two changes at once`;
    if (news.has(p.new)) return `${p.new} replaces two members: two changes at once`;
    olds.add(p.old);
    news.add(p.new);
  }
  for (const p of pairs) {
    if (news.has(p.old)) return `${p.old} is both replaced and replacing: two changes at once`;
  }
  return undefined;
}

interface LearnerStage {
  stage: number;
  /** The learner's host is cleared first (absent or never started: no data worth keeping). */
  clearNew: boolean;
  addNew: boolean;
}

function learnerSteps(
  at: LearnerStage,
  journal: ReplaceJournal,
  newHost: HostSpec,
  newUrl: string,
  oldPresent: boolean,
  oldHost: HostSpec | undefined,
  inv: Inventory,
): ReplaceStep[] {
  const s = replaceSteps;
  const all: [number, ReplaceStep | undefined][] = [
    [0, s.record(journal)],
    [
      1,
      at.clearNew
        ? s.clearHost(newHost.name, [newHost.dataDir], `a fresh data dir for ${newHost.name}`)
        : undefined,
    ],
    [2, s.prepareHost(newHost.name, inv)],
    // Where TLS narrows the firewalls to the members: NEW is let in before it joins.
    [2, tlsOn(inv) ? s.letIn(newHost, inv) : undefined],
    [3, at.addNew ? s.addMember(newHost.name, [newUrl], true) : undefined],
    [4, s.startMember(newHost.name)],
    [5, s.waitCaughtUp(newHost.name)],
    [6, s.promote(newHost.name)],
    [7, oldPresent ? s.moveLeaderAway(journal.oldId, journal.oldName) : undefined],
    [8, oldPresent ? s.removeMember(journal.oldId, journal.oldName) : undefined],
    [9, oldHost ? s.clearHost(oldHost.name, [oldHost.dataDir], `${journal.oldName} was removed`) : undefined],
    [10, s.waitHealthy(newHost.name)],
    [11, s.clearRecord()],
  ];
  return all.filter(([n, step]) => n >= at.stage && step !== undefined).map(([, step]) => step!);
}

/**
 * In place, OLD's data dir is where the inventory's dataDir puts a member named OLD (the default
 * /var/lib/etcd/{name}.etcd), and NEW's own. The play adds the data dir of the env file found on
 * the host.
 */
export function oldDataDirs(oldName: string, newHost: HostSpec): string[] {
  return [...new Set([dataDirOf(newHost.dataDirTemplate, oldName), newHost.dataDir])];
}

function inPlaceSteps(
  stage: number,
  journal: ReplaceJournal,
  newHost: HostSpec,
  newUrl: string,
  newAdded: boolean,
  inv: Inventory,
): ReplaceStep[] {
  const s = replaceSteps;
  const dataDirs = oldDataDirs(journal.oldName, newHost);
  const all: [number, ReplaceStep | undefined][] = [
    [0, s.record(journal)],
    [1, s.prepareHost(newHost.name, inv)],
    [2, s.checkOthersHealthy(journal.oldId)],
    [3, s.moveLeaderAway(journal.oldId, journal.oldName)],
    [4, s.removeMember(journal.oldId, journal.oldName)],
    [5, s.clearHost(newHost.name, dataDirs, `${journal.oldName} was removed`)],
    [6, newAdded ? undefined : s.addMember(newHost.name, [newUrl], false)],
    [7, s.startMember(newHost.name)],
    [8, s.waitHealthy(newHost.name)],
    [9, s.clearRecord()],
  ];
  return all.filter(([n, step]) => n >= stage && step !== undefined).map(([, step]) => step!);
}

/** Checks that only hold when starting afresh (a resumed run is past them by construction). */
function freshRefusal(
  view: ClusterView,
  old: EtcdMember,
  newHost: HostSpec,
  mode: ReplaceMode,
  inv: Inventory,
): ReplacePlan | undefined {
  const url = peerUrl(newHost, inv);
  const taken = view.members.find(
    (m) => m.id !== old.id && (m.name === newHost.name || m.peerURLs.includes(url)),
  );
  if (taken) {
    return refuse(
      `${newHost.name} is already a member (${memberLabel(taken)} ${taken.idHex} at ${taken.peerURLs.join(',')})`,
      'NEW must be an inventory host that is not a member',
    );
  }
  const inFlight = changesInFlight(view.members);
  if (inFlight.length > 0) {
    const what = inFlight.map((m) => `${memberLabel(m)}${m.isLearner ? ' (learner)' : ''}`).join(', ');
    return refuse(
      `another membership change is in progress (${what}): two changes at once`,
      `finish it first (re-run the command that started it), or remove it with tskv member remove ${inv.file} ${inFlight[0]!.idHex}`,
    );
  }
  if (view.leaderId === undefined) {
    return refuse('the cluster has no leader', 'check that a quorum of members is up (tskv status)');
  }
  const sick = unhealthyOthers(view, old.id);
  if (sick.length > 0) {
    return refuse(
      `not every other member is healthy: ${sick.join(', ')}; a replacement now could lose quorum`,
      'bring them back first (tskv status shows each member), then re-run',
    );
  }
  if (mode === 'in-place' && voters(view.members).length <= 1) {
    return refuse(
      `${old.name} is the only voting member: removing it first would leave no cluster`,
      'give NEW its own address so it can join as a learner before the old member leaves',
    );
  }
  if (mode === 'in-place' && !old.isLearner) {
    const remaining = voters(view.members).length - 1;
    const healthyRemaining = voters(view.members).filter((m) => m.id !== old.id).length - sick.length;
    if (healthyRemaining < quorumOf(remaining)) {
      return refuse(`removing ${old.name} would leave ${healthyRemaining} of ${remaining} voters: no quorum`);
    }
  }
  return undefined;
}

/** Plans one pair against the live cluster (and the journal a previous run left, if any). */
export function planReplace(
  inv: Inventory,
  view: ClusterView,
  pair: ReplacePair,
  journal?: ReplaceJournal,
  now: Date = new Date(),
): ReplacePlan {
  const newHost = inv.hosts.find((h) => h.name === pair.new);
  if (!newHost) {
    return refuse(
      `${pair.new} is not a host in ${inv.file}`,
      `add ${pair.new} to the inventory first; hosts: ${inv.hosts.map((h) => h.name).join(', ')}`,
    );
  }
  const newUrl = peerUrl(newHost, inv);
  if (journal && !journalMatches(journal, pair)) {
    return refuse(
      `another replacement is in progress (${journal.old}=${journal.new}, started ${journal.startedAt}): two changes at once`,
      `finish it first: tskv replace ${inv.file} ${journal.old}=${journal.new}`,
    );
  }
  if (!journal) {
    const old = findMember(view.members, pair.old);
    if (!old) {
      const current = view.members.find((m) => m.started && m.name === pair.new && !m.isLearner);
      if (current)
        return { kind: 'done', reason: `${pair.new} is a member and ${pair.old} is not: nothing to do` };
      return refuse(
        `${pair.old} is not a member; members: ${view.members.map((m) => `${memberLabel(m)} ${m.idHex}`).join(', ')}`,
        'give OLD by its name or hex ID as tskv member list prints them',
      );
    }
    const mode: ReplaceMode = old.peerURLs.includes(newUrl) ? 'in-place' : 'learner';
    const refusal = freshRefusal(view, old, newHost, mode, inv);
    if (refusal) return refusal;
    const j: ReplaceJournal = {
      old: pair.old,
      oldId: old.id,
      oldName: old.name || old.idHex,
      oldPeerURLs: old.peerURLs,
      new: pair.new,
      mode,
      startedAt: now.toISOString(),
    };
    const oldHost = hostAt(inv, old);
    const warnings =
      mode === 'learner' && !oldHost
        ? [
            `no inventory host has ${j.oldName}'s address (${j.oldPeerURLs.join(',')}): tskv cannot stop etcd there or move its data dir aside (a removed member stops by itself; move its data dir aside by hand)`,
          ]
        : [];
    const steps =
      mode === 'learner'
        ? learnerSteps({ stage: 0, clearNew: true, addNew: true }, j, newHost, newUrl, true, oldHost, inv)
        : inPlaceSteps(0, j, newHost, newUrl, false, inv);
    return { kind: 'steps', mode, pair, oldName: j.oldName, oldId: j.oldId, resumed: false, steps, warnings };
  }
  return planResume(inv, view, pair, journal, newHost, newUrl);
}

function planResume(
  inv: Inventory,
  view: ClusterView,
  pair: ReplacePair,
  j: ReplaceJournal,
  newHost: HostSpec,
  newUrl: string,
): ReplacePlan {
  const old = view.members.find((m) => m.id === j.oldId);
  const added = view.members.find((m) => m.id !== j.oldId && m.peerURLs.includes(newUrl));
  const base = {
    kind: 'steps' as const,
    mode: j.mode,
    pair,
    oldName: j.oldName,
    oldId: j.oldId,
    resumed: true,
  };
  // NEW added: its host was cleared before the add, and since then its etcd may have joined raft
  // before publishing its name, so its data is never moved aside again; it is (re)started.
  if (j.mode === 'in-place') {
    const stage = old ? 1 : added?.started ? 8 : added ? 7 : 5;
    return {
      ...base,
      steps: inPlaceSteps(stage, j, newHost, newUrl, added !== undefined, inv),
      warnings: [],
    };
  }
  const oldHost = old ? hostAt(inv, old) : inv.hosts.find((h) => j.oldPeerURLs.includes(peerUrl(h, inv)));
  let at: LearnerStage;
  if (!added) at = { stage: 1, clearNew: true, addNew: true };
  else if (added.isLearner) at = { stage: 2, clearNew: false, addNew: false };
  else at = { stage: old ? 7 : 9, clearNew: false, addNew: false };
  const steps = learnerSteps(at, j, newHost, newUrl, old !== undefined, oldHost, inv);
  return { ...base, steps, warnings: [] };
}

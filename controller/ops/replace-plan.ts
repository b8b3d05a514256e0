/**
 * Rolling replacement of one member (OLD=NEW), planned from the live cluster: the ordered steps, or
 * a refusal with the reason, before anything changes. Resumable: a journal (kept in etcd by the
 * play) says a replacement was under way, and the live state says how far it got. Pure.
 */
import { type EtcdId, type EtcdMember, findMember, idToHex } from '../etcd/index.ts';
import type { HostSpec, Inventory } from '../inventory/model.ts';
import { peerUrl } from '../render/urls.ts';
import { type ClusterView, changesInFlight, quorumOf, unhealthyOthers, voters } from './cluster-view.ts';
import { hostAtMemberAddress, memberLabel } from './membership.ts';

export interface ReplacePair {
  /** A member's name or hex ID, as the operator typed it. */
  old: string;
  /** An inventory host. */
  new: string;
}

/** learner: NEW elsewhere joins as a learner first. in-place: NEW takes OLD's address (the seed's h102 → new-h102). */
export type ReplaceMode = 'learner' | 'in-place';

/** What a replacement records before its first change, so a re-run knows it was under way. */
export interface ReplaceJournal {
  old: string;
  oldId: EtcdId;
  oldName: string;
  oldPeerURLs: string[];
  new: string;
  mode: ReplaceMode;
  startedAt: string;
}

export type ReplaceStep =
  | { op: 'write-journal'; journal: ReplaceJournal }
  | { op: 'check-others-healthy'; exceptId: EtcdId }
  | { op: 'add-member'; host: string; peerURLs: string[]; learner: boolean }
  /** Stop etcd on the host and move its data dir aside (never a live member's data). */
  | { op: 'clear-host'; host: string; dataDirs: string[]; why: string }
  /** Install etcd and open the client and peer ports (before the cluster changes). */
  | { op: 'prepare-host'; host: string }
  /** Write its config (state existing, initial cluster from the live list), start it. */
  | { op: 'start-member'; host: string }
  | { op: 'wait-caught-up'; host: string }
  | { op: 'promote'; host: string }
  /** Hand leadership to another healthy voter if OLD leads at that moment. */
  | { op: 'move-leader-away'; id: EtcdId; name: string }
  | { op: 'remove-member'; id: EtcdId; name: string }
  | { op: 'wait-healthy'; host: string }
  | { op: 'clear-journal' };

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
): ReplaceStep[] {
  const fresh = `a fresh data dir for ${newHost.name}`;
  const removed = `${journal.oldName} was removed`;
  const all: [number, ReplaceStep | undefined][] = [
    [0, { op: 'write-journal', journal }],
    [
      1,
      at.clearNew
        ? { op: 'clear-host', host: newHost.name, dataDirs: [newHost.dataDir], why: fresh }
        : undefined,
    ],
    [2, { op: 'prepare-host', host: newHost.name }],
    [3, at.addNew ? { op: 'add-member', host: newHost.name, peerURLs: [newUrl], learner: true } : undefined],
    [4, { op: 'start-member', host: newHost.name }],
    [5, { op: 'wait-caught-up', host: newHost.name }],
    [6, { op: 'promote', host: newHost.name }],
    [7, oldPresent ? { op: 'move-leader-away', id: journal.oldId, name: journal.oldName } : undefined],
    [8, oldPresent ? { op: 'remove-member', id: journal.oldId, name: journal.oldName } : undefined],
    [
      9,
      oldHost
        ? { op: 'clear-host', host: oldHost.name, dataDirs: [oldHost.dataDir], why: removed }
        : undefined,
    ],
    [10, { op: 'wait-healthy', host: newHost.name }],
    [11, { op: 'clear-journal' }],
  ];
  return all.filter(([n, s]) => n >= at.stage && s !== undefined).map(([, s]) => s!);
}

/**
 * In place, OLD's data dir is NEW's with the name changed when the inventory's dataDir contains the
 * name (the default /var/lib/etcd/{name}.etcd), else the same path. The play adds the data dir of
 * the env file found on the host.
 */
export function oldDataDirs(oldName: string, newHost: HostSpec): string[] {
  const guess = newHost.dataDir.replaceAll(newHost.name, oldName);
  return [...new Set([guess, newHost.dataDir])];
}

function inPlaceSteps(
  stage: number,
  journal: ReplaceJournal,
  newHost: HostSpec,
  newUrl: string,
  newAdded: boolean,
): ReplaceStep[] {
  const dataDirs = oldDataDirs(journal.oldName, newHost);
  const all: [number, ReplaceStep | undefined][] = [
    [0, { op: 'write-journal', journal }],
    [1, { op: 'prepare-host', host: newHost.name }],
    [2, { op: 'check-others-healthy', exceptId: journal.oldId }],
    [3, { op: 'move-leader-away', id: journal.oldId, name: journal.oldName }],
    [4, { op: 'remove-member', id: journal.oldId, name: journal.oldName }],
    [5, { op: 'clear-host', host: newHost.name, dataDirs, why: `${journal.oldName} was removed` }],
    [6, newAdded ? undefined : { op: 'add-member', host: newHost.name, peerURLs: [newUrl], learner: false }],
    [7, { op: 'start-member', host: newHost.name }],
    [8, { op: 'wait-healthy', host: newHost.name }],
    [9, { op: 'clear-journal' }],
  ];
  return all.filter(([n, s]) => n >= stage && s !== undefined).map(([, s]) => s!);
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
    const oldHost = hostAtMemberAddress(inv, old);
    const warnings =
      mode === 'learner' && !oldHost
        ? [
            `no inventory host has ${j.oldName}'s address (${j.oldPeerURLs.join(',')}): tskv cannot stop etcd there or move its data dir aside (a removed member stops by itself; move its data dir aside by hand)`,
          ]
        : [];
    const steps =
      mode === 'learner'
        ? learnerSteps({ stage: 0, clearNew: true, addNew: true }, j, newHost, newUrl, true, oldHost)
        : inPlaceSteps(0, j, newHost, newUrl, false);
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
  if (j.mode === 'in-place') {
    const stage = old ? 1 : added?.started ? 8 : 5;
    return {
      ...base,
      steps: inPlaceSteps(stage, j, newHost, newUrl, added !== undefined),
      warnings: [],
    };
  }
  const oldHost = old
    ? hostAtMemberAddress(inv, old)
    : inv.hosts.find((h) => j.oldPeerURLs.includes(peerUrl(h, inv)));
  let at: LearnerStage;
  if (!added) at = { stage: 1, clearNew: true, addNew: true };
  else if (added.isLearner) at = { stage: added.started ? 2 : 1, clearNew: !added.started, addNew: false };
  else at = { stage: old ? 7 : 9, clearNew: false, addNew: false };
  const steps = learnerSteps(at, j, newHost, newUrl, old !== undefined, oldHost);
  return { ...base, steps, warnings: [] };
}

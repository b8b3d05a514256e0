/**
 * Who survives a lost quorum: whether the cluster has its quorum, the voter to rebuild around (the
 * highest raft index), what may be lost with the others, and the words status uses. Pure.
 */
import type { EtcdMember } from '../etcd/index.ts';
import type { HostSpec, Inventory } from '../inventory/model.ts';
import { type ClusterView, isHealthy, quorumOf, voters } from './cluster-view.ts';
import { hostAt, memberLabel } from './membership.ts';

export interface Survivor {
  host: string;
  member: EtcdMember;
  raftIndex: number;
  raftAppliedIndex: number;
}

/** A majority of the voters is healthy and a leader is known. */
export function hasQuorum(view: ClusterView): boolean {
  const all = voters(view.members);
  const healthy = all.filter((m) => isHealthy(view, m));
  return view.leaderId !== undefined && all.length > 0 && healthy.length >= quorumOf(all.length);
}

/**
 * The voter to rebuild around: of those that answered through a reachable inventory host, the one
 * with the highest raft index (then the highest applied index, then the first in the inventory).
 * Learners never: they are not sure to hold every committed entry.
 */
export function chooseSurvivor(
  inv: Inventory,
  view: ClusterView,
  connected: ReadonlySet<string>,
): Survivor | undefined {
  const order = (h: HostSpec) => inv.hosts.indexOf(h);
  const candidates = voters(view.members).flatMap((m) => {
    const host = hostAt(inv, m);
    const health = view.health.get(m.id);
    if (!host || !connected.has(host.name) || !health?.reachable || health.raftIndex === undefined) return [];
    return [{ host, m, index: health.raftIndex, applied: health.raftAppliedIndex ?? 0 }];
  });
  candidates.sort((a, b) => b.index - a.index || b.applied - a.applied || order(a.host) - order(b.host));
  const best = candidates[0];
  return best
    ? { host: best.host.name, member: best.m, raftIndex: best.index, raftAppliedIndex: best.applied }
    : undefined;
}

/** Every other voter in words: did not answer (its later entries are lost) or how far behind it is. */
export function describeLosses(view: ClusterView, survivor: Survivor): string[] {
  const others = voters(view.members).filter((m) => m.id !== survivor.member.id);
  const silent = others.filter((m) => view.health.get(m.id)?.raftIndex === undefined);
  const lines = [
    `${survivor.host} has the highest raft index of the members that answered: ${survivor.raftIndex} (applied ${survivor.raftAppliedIndex}); the cluster is rebuilt from its data`,
  ];
  if (silent.length > 0) {
    lines.push(
      `${silent.map(memberLabel).join(', ')} did not answer: any entry beyond raft index ${survivor.raftIndex} that only ${silent.length > 1 ? 'they' : 'it'} had is lost (a write acknowledged by a quorum that did not include ${survivor.host})`,
    );
  }
  for (const m of others) {
    const index = view.health.get(m.id)?.raftIndex;
    if (index !== undefined) {
      lines.push(
        `${memberLabel(m)} is at raft index ${index}: nothing it has is missing from ${survivor.host}`,
      );
    }
  }
  return lines;
}

/** When the cluster has lost its quorum, that in words with the way out (tskv status says it); else undefined. */
export function describeQuorumLoss(view: ClusterView, inventoryFile: string): string | undefined {
  if (view.members.length === 0 || hasQuorum(view)) return undefined;
  const all = voters(view.members);
  const healthy = all.filter((m) => isHealthy(view, m));
  const answering = all.filter((m) => view.health.get(m.id)?.reachable);
  return `QUORUM LOST: ${healthy.length} of ${all.length} voting members healthy, ${quorumOf(all.length)} needed; ${answering.length > 0 ? `only ${answering.map(memberLabel).join(', ')} answer${answering.length === 1 ? 's' : ''}` : 'none answers'}. The cluster serves no reads or writes. If the others come back (hosts up, etcd started), it heals by itself; if they are gone for good, rebuild it around the most up-to-date survivor: tskv recover ${inventoryFile}`;
}

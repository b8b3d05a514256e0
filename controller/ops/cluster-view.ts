/** The live cluster as the membership planners see it: members, each one's health, the leader. Pure. */
import type { EtcdId, EtcdMember } from '../etcd/index.ts';

export interface MemberHealth {
  /** The member answered a status call (through its host). */
  reachable: boolean;
  /** Voters: `/health` said true. Learners: status answered (they serve no quorum reads). */
  healthy: boolean;
  raftIndex: number | undefined;
  raftAppliedIndex: number | undefined;
  /** Why it is not healthy ("unreachable: cannot connect", "no host in the inventory"). */
  detail: string;
}

export interface ClusterView {
  members: EtcdMember[];
  /** By member ID (decimal); a member without an entry is unknown (no way to reach it). */
  health: Map<EtcdId, MemberHealth>;
  /** The leader as the reachable members report it. */
  leaderId: EtcdId | undefined;
}

export const voters = (members: EtcdMember[]): EtcdMember[] => members.filter((m) => !m.isLearner);

/** Votes needed for a decision among `n` voters. */
export const quorumOf = (n: number): number => Math.floor(n / 2) + 1;

export function isHealthy(view: ClusterView, m: EtcdMember): boolean {
  return view.health.get(m.id)?.healthy ?? false;
}

export function healthDetail(view: ClusterView, m: EtcdMember): string {
  return view.health.get(m.id)?.detail ?? 'not reachable from any inventory host';
}

/** Members (other than `except`) that are not healthy, as "name (why)". */
export function unhealthyOthers(
  view: ClusterView,
  except: EtcdId | undefined,
  /** Members whose health does not matter here (leaving the cluster). */
  ignore: ReadonlySet<EtcdId> = new Set(),
): string[] {
  return view.members
    .filter((m) => m.id !== except && !ignore.has(m.id) && !isHealthy(view, m))
    .map((m) => `${m.name || m.idHex} (${healthDetail(view, m)})`);
}

/** Members that are a membership change in flight: learners and members added but never started. */
export function changesInFlight(members: EtcdMember[]): EtcdMember[] {
  return members.filter((m) => m.isLearner || !m.started);
}

/** A three-member cluster that lost its quorum, for the recovery planners' tests. */
import type { ClusterView, MemberHealth } from '../../../../controller/ops/cluster-view.ts';
import { down, inventory, seedMembers } from './membership-fixtures.ts';

export const HOSTS = ['h102', 'docker', 'h104'];
export const inv = inventory(HOSTS);

/** Up but without a leader: it answers status with its raft index, /health says false. */
export const alone = (raftIndex: number, applied = raftIndex): MemberHealth => ({
  reachable: true,
  healthy: false,
  raftIndex,
  raftAppliedIndex: applied,
  detail: 'unhealthy: no leader',
});

/** The seed's three members; `health` by name (absent: down). */
export function lostView(health: Record<string, MemberHealth>): ClusterView {
  const members = seedMembers();
  return {
    members,
    health: new Map(members.map((m) => [m.id, health[m.name] ?? down])),
    leaderId: undefined,
  };
}

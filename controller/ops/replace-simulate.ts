/** The cluster as it will be once a replacement is done, to plan the next pair before the first runs. Pure. */
import type { Inventory } from '../inventory/model.ts';
import { clientUrl, peerUrl } from '../render/urls.ts';
import type { ClusterView } from './cluster-view.ts';
import type { ReplacePlan } from './replace-plan.ts';

export function afterReplace(
  inv: Inventory,
  view: ClusterView,
  plan: Extract<ReplacePlan, { kind: 'steps' }>,
): ClusterView {
  const host = inv.hosts.find((h) => h.name === plan.pair.new)!;
  const url = peerUrl(host, inv);
  const id = `planned:${host.name}`;
  const members = view.members
    .filter((m) => m.id !== plan.oldId && !m.peerURLs.includes(url))
    .concat({
      id,
      idHex: '(new)',
      name: host.name,
      peerURLs: [url],
      clientURLs: [clientUrl(host, inv)],
      isLearner: false,
      started: true,
    });
  const health = new Map(view.health);
  health.set(id, {
    reachable: true,
    healthy: true,
    raftIndex: undefined,
    raftAppliedIndex: undefined,
    detail: 'planned',
  });
  const leaderId = view.leaderId === plan.oldId ? members[0]?.id : view.leaderId;
  return { members, health, leaderId };
}

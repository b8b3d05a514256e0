/** The replacement steps as the operator reads them in the plan. Pure. */
import { idToHex } from '../etcd/index.ts';
import type { Inventory } from '../inventory/model.ts';
import type { ReplaceStep } from './replace-plan.ts';

/** One line per step, as the plan is shown before anything changes. */
export function describeStep(step: ReplaceStep, inv: Inventory): string {
  switch (step.op) {
    case 'write-journal':
      return `record the replacement ${step.journal.oldName}=${step.journal.new} in the cluster (so a re-run resumes it)`;
    case 'check-others-healthy':
      return 'check that every other member is healthy';
    case 'add-member':
      return `add ${step.host} (${step.peerURLs.join(',')}) as a ${step.learner ? 'learner' : 'voting member'}`;
    case 'clear-host':
      return `stop etcd on ${step.host} and move ${step.dataDirs.join(', ')} aside (${step.why})`;
    case 'prepare-host':
      return `install etcd ${inv.etcd.version} on ${step.host} and open ports ${inv.cluster.clientPort}/tcp and ${inv.cluster.peerPort}/tcp`;
    case 'start-member':
      return `write ${step.host}'s config (initial-cluster-state existing, the live member list) and start etcd`;
    case 'wait-caught-up':
      return `wait until ${step.host} has started and caught up with the leader's raft index`;
    case 'promote':
      return `promote ${step.host} to a voting member`;
    case 'move-leader-away':
      return `move leadership away from ${step.name} if it leads`;
    case 'remove-member':
      return `remove ${step.name} (${idToHex(step.id)}) from the cluster`;
    case 'wait-healthy':
      return `wait until ${step.host} and every other member are healthy`;
    case 'clear-journal':
      return 'clear the replacement record';
  }
}

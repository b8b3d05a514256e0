/** What deploy intends to do, per host: data produced by the pure planners in ops/, printed by plan/print.ts. */

export type StepKind = 'clock' | 'install' | 'firewall' | 'config' | 'unit' | 'start' | 'restart';

export interface PlanStep {
  kind: StepKind;
  /** One line for the operator: "install etcd 3.4.23", "open 2379/tcp 2380/tcp (firewalld zone public)". */
  title: string;
  /** Unified diff of a file change (config, unit). */
  diff?: string;
}

export interface HostPlan {
  host: string;
  steps: PlanStep[];
  /** Facts the steps rest on, for the reader ("etcd 3.4.23 running, pid 812"). */
  summary: string;
}

export type ClusterMode =
  /** No member anywhere: bootstrap with --initial-cluster-state new, all members started together. */
  | { kind: 'new' }
  /** Live members equal the inventory: converge config, start stopped members, restart changed ones one at a time. */
  | { kind: 'existing'; source: 'live' | 'stopped-with-data' };

export interface DeployPlan {
  mode: ClusterMode;
  hosts: HostPlan[];
  /** Running members whose change needs a restart, in the order they will be restarted (one at a time). */
  restarts: string[];
  /** Members that are not running and will be started (all together when bootstrapping). */
  starts: string[];
}

export function stepCount(plan: DeployPlan): number {
  return plan.hosts.reduce((n, h) => n + h.steps.length, 0);
}

export function isNoop(plan: DeployPlan): boolean {
  return stepCount(plan) === 0;
}

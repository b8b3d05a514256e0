/** Facts + inventory → every host's steps. Pure: the play gathers, this decides, plan/ prints. */
import type { FactsResponse, FirewallStateResponse } from '../../agent/api/index.ts';
import type { HostSpec, Inventory } from '../inventory/model.ts';
import type { DeployPlan, HostPlan, PlanStep } from '../plan/types.ts';
import { type ClusterDecision, hasRun } from './cluster-mode.ts';
import { chooseState, type DesiredConfig, desiredConfig, keepInitialSettings, planConfig } from './config.ts';
import { planFirewall } from './firewall.ts';
import { planInstall } from './install.ts';
import { planService, restartOrder } from './service.ts';

export interface HostInput {
  spec: HostSpec;
  facts: FactsResponse;
  firewall: FirewallStateResponse;
  /** etcd runs under tskv's service on the host. */
  running: boolean;
  pid: number | null;
  envFile: string | undefined;
  unitFile: string | undefined;
  /** The preflight clock check failed on this host: what it observed. */
  clockProblem: string | undefined;
}

export interface PlanInput {
  inv: Inventory;
  hosts: HostInput[];
  decision: ClusterDecision;
  /** The current leader's host, if the cluster runs. */
  leader: string | undefined;
}

export interface PlannedDeploy {
  plan: DeployPlan;
  desired: Map<string, DesiredConfig>;
}

function summary(h: HostInput): string {
  const installed = h.facts.etcd.installed;
  const etcd = installed ? `etcd ${installed.version}` : 'no etcd';
  const state = h.running
    ? `running (pid ${h.pid ?? '?'})`
    : h.facts.etcd.dataDir.hasData
      ? 'stopped, has data'
      : 'stopped';
  return `${etcd}, ${state}`;
}

export function planDeploy(input: PlanInput): PlannedDeploy {
  const { inv, decision } = input;
  const bootstrapping = decision.mode.kind === 'new';
  const ports = [inv.cluster.clientPort, inv.cluster.peerPort];
  const desired = new Map<string, DesiredConfig>();
  const restarts: string[] = [];
  const starts: string[] = [];
  const hosts = input.hosts.map((h): HostPlan => {
    const name = h.spec.name;
    const steps: PlanStep[] = [];
    if (h.clockProblem) steps.push({ kind: 'clock', title: `sync the clock (${h.clockProblem})` });
    const install = planInstall(h.facts, inv.etcd);
    if (install) steps.push(install);
    const firewall = planFirewall(h.firewall, ports);
    if (firewall) steps.push(firewall);
    const member = decision.memberOf.get(name);
    const memberStarted = member ? hasRun(member) : h.facts.etcd.dataDir.hasData;
    const state = chooseState(h.envFile, bootstrapping, memberStarted);
    const rendered = desiredConfig(inv, name, state, h.facts.init.systemd);
    const want =
      memberStarted && h.facts.etcd.dataDir.hasData ? keepInitialSettings(rendered, h.envFile) : rendered;
    desired.set(name, want);
    const config = planConfig(want, h.envFile, h.unitFile);
    steps.push(...config);
    const service = planService({
      running: h.running,
      configChanged: config.length > 0,
      installChanged: install !== undefined,
      bootstrapping,
    });
    if (service) {
      steps.push(service);
      (service.kind === 'start' ? starts : restarts).push(name);
    }
    return { host: name, steps, summary: summary(h) };
  });
  return {
    plan: { mode: decision.mode, hosts, restarts: restartOrder(restarts, input.leader), starts },
    desired,
  };
}

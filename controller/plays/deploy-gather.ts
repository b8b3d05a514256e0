/** What deploy needs beyond preflight: each host's config files and service state, and the live member list. */
import { routes } from '../../agent/api/index.ts';
import { TskvError } from '../errors.ts';
import { EtcdCluster, type EtcdMember } from '../etcd/index.ts';
import type { EtcdTunnels } from '../etcd-tunnel.ts';
import type { CheckResult } from '../ops/checks.ts';
import type { HostRuntime } from '../ops/cluster-mode.ts';
import { ETCD_UNIT_FILE } from '../ops/config.ts';
import type { HostInput } from '../ops/deploy-plan.ts';
import { ETCD_ENV_FILE } from '../render/settings.ts';
import { forEachHost } from '../run/tasks.ts';
import { type ServiceStatus, serviceCall } from './deploy-service.ts';
import type { PreflightReport } from './preflight.ts';
import type { HostChannel, Session } from './session.ts';

export interface Gathered {
  hosts: HostInput[];
  runtimes: HostRuntime[];
  services: Map<string, ServiceStatus>;
  /** The live member list, when some member runs. */
  members: EtcdMember[] | undefined;
  /** The leader's host name, when known. */
  leader: string | undefined;
}

async function readFile(ch: HostChannel, path: string): Promise<string | undefined> {
  const r = await ch.agent.call(routes.fileRead, { path }, { step: `read ${path}` });
  return r.exists ? r.content : undefined;
}

function failed(host: string, error: unknown): TskvError {
  return error instanceof TskvError
    ? error
    : new TskvError('E_GATHER', 'could not read the host state', { host, step: 'gather', cause: error });
}

export async function gatherDeploy(
  session: Session,
  preflight: PreflightReport,
  tunnels: EtcdTunnels,
): Promise<Gathered> {
  const clockProblems = new Map(
    preflight.checks
      .filter((c: CheckResult) => c.check === 'clock' && c.status === 'fail')
      .map((c) => [c.host, c.observed]),
  );
  const names = session.inventory.hosts.map((h) => h.name);
  const outcomes = await forEachHost(
    'read configuration and service state',
    names,
    async (name) => {
      const ch = session.hosts.get(name)!;
      const obs = preflight.observations.get(name)!;
      const [envFile, unitFile, service] = await Promise.all([
        readFile(ch, ETCD_ENV_FILE),
        obs.facts.init.systemd ? readFile(ch, ETCD_UNIT_FILE) : Promise.resolve(undefined),
        serviceCall(ch, 'status'),
      ]);
      return { ch, obs, envFile, unitFile, service };
    },
    session.mode,
  );
  const hosts: HostInput[] = [];
  const runtimes: HostRuntime[] = [];
  const services = new Map<string, ServiceStatus>();
  for (const name of names) {
    const o = outcomes.get(name)!;
    if (!o.ok) throw failed(name, o.error);
    const { ch, obs, envFile, unitFile, service } = o.value;
    services.set(name, service);
    hosts.push({
      spec: ch.spec,
      facts: obs.facts,
      firewall: obs.firewall,
      running: service.running,
      pid: service.pid,
      envFile,
      unitFile,
      clockProblem: clockProblems.get(name),
    });
    runtimes.push({
      name,
      running: service.running,
      hasData: obs.facts.etcd.dataDir.hasData,
      strayPids: obs.facts.etcd.running.map((p) => p.pid).filter((pid) => pid !== service.pid),
    });
  }
  const running = runtimes.filter((r) => r.running).map((r) => r.name);
  if (running.length === 0) return { hosts, runtimes, services, members: undefined, leader: undefined };
  const cluster = new EtcdCluster(
    running.map((n) => tunnels.endpoint(session.hosts.get(n)!.conn)),
    { timeoutMs: 3000 },
  );
  const [list, statuses] = await Promise.all([
    cluster.memberList().catch(() => undefined),
    cluster.statusAll(),
  ]);
  const leader = statuses.find((r) => r.ok && r.value.isLeader)?.endpoint;
  return { hosts, runtimes, services, members: list?.members, leader };
}

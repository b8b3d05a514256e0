import { type FileEncoding, type ResponseOf, routes } from '../../agent/api/index.ts';
import { hostFailure } from '../errors.ts';
import type { EtcdMember } from '../etcd/index.ts';
import type { Inventory } from '../inventory/model.ts';
import { tlsOn } from '../inventory/tls.ts';
import type { CheckResult } from '../ops/checks.ts';
import type { HostRuntime } from '../ops/cluster-mode.ts';
import { ETCD_UNIT_FILE, envFileValue } from '../ops/config.ts';
import type { HostInput } from '../ops/deploy-plan.ts';
import { hostAt } from '../ops/membership.ts';
import { type HostFile, memberTlsFiles, tlsFileContents } from '../ops/tls-files.ts';
import { loopbackSchemeOfEnv } from '../ops/tls-migration.ts';
import { memberTlsMaterial } from '../pki/index.ts';
import { ETCD_ENV_FILE } from '../render/settings.ts';
import { forEachHost } from '../run/progress.ts';
import { type ServiceStatus, serviceCall } from './host-etcd.ts';
import type { LiveCluster, LiveView } from './live-cluster.ts';
import type { PreflightReport } from './preflight.ts';
import type { HostChannel } from './session.ts';

export interface Gathered {
  hosts: HostInput[];
  runtimes: HostRuntime[];
  services: Map<string, ServiceStatus>;
  /** The live member list, when some member runs. */
  members: EtcdMember[] | undefined;
  /** The leader's host name, when known. */
  leader: string | undefined;
  /** The members' health and the leader, when some member runs (membership changes are planned from it). */
  view?: LiveView | undefined;
}

/** A file of the host's through its agent; undefined when it does not exist. */
export async function readHostFile(
  ch: HostChannel,
  path: string,
  encoding?: FileEncoding,
): Promise<ResponseOf<typeof routes.fileRead> | undefined> {
  const r = await ch.agent.call(
    routes.fileRead,
    { path, ...(encoding ? { encoding } : {}) },
    { step: `read ${path}` },
  );
  return r.exists ? r : undefined;
}

/** The data dir the host's env file names, when it is not the inventory's and holds member data. */
async function dataElsewhere(ch: HostChannel, envFile: string | undefined): Promise<string | undefined> {
  const dir = envFileValue(envFile, 'ETCD_DATA_DIR');
  if (dir === undefined || dir === ch.spec.dataDir) return undefined;
  const facts = await ch.agent.call(routes.facts, { dataDir: dir }, { step: `look at ${dir}` });
  return facts.etcd.dataDir.hasData ? dir : undefined;
}

/** TLS on: the member's TLS files as its host has them (what they should be: tlsWants). */
export async function hostTlsFiles(ch: HostChannel, inv: Inventory): Promise<NonNullable<HostInput['tls']>> {
  const files = memberTlsFiles(inv);
  const read = await Promise.all(files.map((f) => readHostFile(ch, f.path, f.encoding)));
  const have = new Map<string, HostFile | undefined>();
  files.forEach((f, i) => {
    const remote = read[i];
    have.set(f.path, remote && { content: remote.content, mode: remote.mode, owner: remote.owner });
  });
  return { want: new Map(), have };
}

/**
 * The member's TLS files as the controller hands them out now (the PKI folder, following a
 * rotation in progress, or the operator's own files), by host path; undefined for one the PKI has
 * not issued yet (a dry run before the first deploy: to be placed).
 */
export async function tlsWants(inv: Inventory, member: string): Promise<Map<string, string | undefined>> {
  return tlsFileContents(inv, await memberTlsMaterial(inv, member));
}

export async function gatherDeploy(live: LiveCluster, preflight: PreflightReport): Promise<Gathered> {
  const { session } = live;
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
      const [env, unit, service, tlsState] = await Promise.all([
        readHostFile(ch, ETCD_ENV_FILE),
        obs.facts.init.systemd ? readHostFile(ch, ETCD_UNIT_FILE) : Promise.resolve(undefined),
        serviceCall(ch, 'status'),
        tlsOn(session.inventory) ? hostTlsFiles(ch, session.inventory) : Promise.resolve(undefined),
      ]);
      const envFile = env?.content;
      return {
        ch,
        obs,
        envFile,
        envAccess: env && { mode: env.mode, owner: env.owner },
        unitFile: unit?.content,
        tlsState,
        service,
        dataElsewhere: await dataElsewhere(ch, envFile),
      };
    },
    session.mode,
  );
  const hosts: HostInput[] = [];
  const runtimes: HostRuntime[] = [];
  const services = new Map<string, ServiceStatus>();
  for (const name of names) {
    const o = outcomes.get(name)!;
    if (!o.ok) throw hostFailure(name, 'read configuration and service state', o.error);
    const { ch, obs, envFile, envAccess, unitFile, tlsState, service, dataElsewhere } = o.value;
    services.set(name, service);
    hosts.push({
      spec: ch.spec,
      facts: obs.facts,
      firewall: obs.firewall,
      running: service.running,
      pid: service.pid,
      stale: service.stale,
      envFile,
      envAccess,
      unitFile,
      runsAs: service.user,
      clockProblem: clockProblems.get(name),
      ...(tlsState ? { tls: tlsState } : {}),
    });
    runtimes.push({
      name,
      running: service.running,
      hasData: obs.facts.etcd.dataDir.hasData,
      strayPids: obs.facts.etcd.running.map((p) => p.pid).filter((pid) => pid !== service.pid),
      ...(dataElsewhere ? { dataElsewhere } : {}),
    });
  }
  if (!runtimes.some((r) => r.running))
    return { hosts, runtimes, services, members: undefined, leader: undefined };
  // Each running member is asked in the scheme its env file serves (a move to TLS mixes them).
  for (const h of hosts) {
    const served = h.running ? loopbackSchemeOfEnv(h.envFile) : undefined;
    if (served) live.tunnels.useScheme(h.spec.name, served);
  }
  const view = await live.view().catch(() => undefined);
  const leader = view?.members.find((m) => m.id === view.leaderId);
  for (const h of hosts) {
    h.memberVersion = view?.probes.find((p) => p.host === h.spec.name && h.running)?.status?.version;
  }
  return {
    hosts,
    runtimes,
    services,
    members: view?.members,
    leader: leader ? hostAt(session.inventory, leader)?.name : undefined,
    view,
  };
}

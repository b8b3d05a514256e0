/** `tskv status`: every member's state through the inventory hosts, each host's clock offset, and membership drift. */
import { routes } from '../../agent/api/index.ts';
import { describeCause } from '../errors.ts';
import { idToHex } from '../etcd/index.ts';
import { tlsOn } from '../inventory/tls.ts';
import type { ClockOffset } from '../ops/clock-skew.ts';
import { type DriftProblem, membershipDrift } from '../ops/membership.ts';
import { type RecoverJournal, recoverJournalSchema } from '../ops/recover-plan.ts';
import type { ReplaceJournal } from '../ops/replace-plan.ts';
import { describeService } from '../ops/service-state.ts';
import { describeQuorumLoss } from '../ops/survivor.ts';
import { daysLeft, inspectCert } from '../pki/index.ts';
import { measureClock } from './clock-measure.ts';
import { type HostCertRole, readHostCerts } from './host-certs.ts';
import { serviceCall } from './host-etcd.ts';
import type { LiveCluster } from './live-cluster.ts';
import { recoverJournal } from './recover.ts';
import type { HostChannel } from './session.ts';

export interface MemberRow {
  id: string;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  state: 'started' | 'unstarted' | 'learner';
  /** The inventory host at its address. */
  host: string | null;
  healthy: boolean;
  health: string;
  leader: boolean;
  version: string | null;
  dbSize: number | null;
  raftTerm: number | null;
  raftIndex: number | null;
}

export interface HostRow {
  name: string;
  address: string;
  reachable: boolean;
  /** Host clock minus this machine's, ms (null when the agent is not reachable). */
  clockOffsetMs: number | null;
  clockErrorMs: number | null;
  /** The member at its address (name or hex ID), null when none. */
  member: string | null;
  /** etcd's service in a few words ("running (systemd, pid 812, ...)"), null when the agent is not reachable. */
  etcd: string | null;
  /** etcd's last log lines (the journal's under systemd) when it is not running or its member is not healthy. */
  log: string[];
  /** TLS on: the certificates the host's etcd serves, and the CA it trusts; null otherwise. */
  certs: HostCert[] | null;
  problem: string | null;
}

export interface HostCert {
  role: HostCertRole;
  /** Whole days until it expires (negative: expired); null when the file is missing or unreadable. */
  daysLeft: number | null;
  notAfter: string | null;
}

export interface StatusReport {
  clusterId: string | null;
  leader: string | null;
  /** /version's etcdcluster ("3.5.0"), once the members agree on one. */
  clusterVersion: string | null;
  members: MemberRow[];
  hosts: HostRow[];
  drift: DriftProblem[];
  /** A replacement that has not finished. */
  replacing: ReplaceJournal | null;
  /** The quorum is lost: that in words, naming tskv recover; else null. */
  quorumLost: string | null;
  /** A recovery from a lost quorum that has not finished. */
  recovering: RecoverJournal | null;
  /** Why no member list could be read (etcd down everywhere), else null. */
  error: string | null;
}

const CLOCK_SAMPLES = 3;

/** The expiry of each certificate the host's etcd uses, read from the host (what etcd really has). */
async function certsOf(ch: HostChannel): Promise<HostCert[]> {
  return (await readHostCerts(ch)).map(({ role, pem }): HostCert => {
    try {
      if (pem === undefined) throw new Error('missing');
      const info = inspectCert(pem);
      return { role, daysLeft: daysLeft(info), notAfter: info.notAfter.toISOString() };
    } catch {
      return { role, daysLeft: null, notAfter: null };
    }
  });
}
const LOG_LINES = 10;

async function serviceOf(ch: HostChannel, healthy: boolean): Promise<{ etcd: string; log: string[] }> {
  const service = await serviceCall(ch, 'status');
  if (service.running && healthy) return { etcd: describeService(service), log: [] };
  const { lines } = await ch.agent.call(routes.etcdLogs, { lines: LOG_LINES }, { step: 'etcd logs' });
  return { etcd: describeService(service), log: lines };
}

async function hostRows(
  live: LiveCluster,
  memberAt: Map<string, string>,
  healthyAt: Set<string>,
): Promise<HostRow[]> {
  const { session } = live;
  const problems = new Map(session.unreachable.map((u) => [u.host, u.observed]));
  return Promise.all(
    session.inventory.hosts.map(async (h): Promise<HostRow> => {
      const ch = session.hosts.get(h.name);
      let offset: ClockOffset | undefined;
      let service: { etcd: string; log: string[] } | undefined;
      let certs: HostCert[] | null = null;
      // Both failures are told, in this order, whichever comes first.
      const failed: { clock?: string; service?: string; certs?: string } = {};
      if (ch) {
        [offset, service, certs] = await Promise.all([
          measureClock(ch.agent, CLOCK_SAMPLES).catch((err: unknown) => {
            failed.clock = `clock: ${describeCause(err)}`;
            return undefined;
          }),
          serviceOf(ch, healthyAt.has(h.name)).catch((err: unknown) => {
            failed.service = `etcd service: ${describeCause(err)}`;
            return undefined;
          }),
          !tlsOn(session.inventory)
            ? null
            : certsOf(ch).catch((err: unknown) => {
                failed.certs = `certificates: ${describeCause(err)}`;
                return null;
              }),
        ]);
      }
      const told = [problems.get(h.name), failed.clock, failed.service, failed.certs].filter(
        (p) => p !== undefined,
      );
      return {
        name: h.name,
        address: h.address,
        reachable: ch !== undefined,
        clockOffsetMs: offset ? Math.round(offset.offsetMs) : null,
        clockErrorMs: offset ? Math.round(offset.errorMs) : null,
        member: memberAt.get(h.name) ?? null,
        etcd: service?.etcd ?? null,
        log: service?.log ?? [],
        certs,
        problem: told.length > 0 ? told.join('; ') : null,
      };
    }),
  );
}

export async function gatherStatus(live: LiveCluster): Promise<StatusReport> {
  const inv = live.session.inventory;
  let view: Awaited<ReturnType<LiveCluster['view']>>;
  try {
    view = await live.view();
  } catch (err) {
    return {
      clusterId: null,
      leader: null,
      clusterVersion: null,
      members: [],
      hosts: await hostRows(live, new Map(), new Set()),
      drift: [],
      replacing: null,
      quorumLost: null,
      recovering: null,
      error: describeCause(err),
    };
  }
  const members = view.probes.map(
    ({ member: m, host, health, status }): MemberRow => ({
      id: m.idHex,
      name: m.name,
      peerURLs: m.peerURLs,
      clientURLs: m.clientURLs,
      state: m.isLearner ? 'learner' : m.started ? 'started' : 'unstarted',
      host: host ?? null,
      healthy: health.healthy,
      health: health.detail,
      leader: m.id === view.leaderId,
      version: status?.version ?? null,
      dbSize: status?.dbSize ?? null,
      raftTerm: status?.raftTerm ?? null,
      raftIndex: status?.raftIndex ?? null,
    }),
  );
  const memberAt = new Map(members.filter((r) => r.host).map((r) => [r.host!, r.name || r.id]));
  const leader = view.members.find((m) => m.id === view.leaderId);
  return {
    clusterId: idToHex(view.clusterId),
    leader: leader ? leader.name || leader.idHex : null,
    clusterVersion: (await live.clusterVersion().catch(() => undefined)) ?? null,
    members,
    hosts: await hostRows(
      live,
      memberAt,
      new Set(members.filter((r) => r.host && r.healthy).map((r) => r.host!)),
    ),
    drift: membershipDrift(inv, view.members),
    replacing: (await live.readJournal().catch(() => undefined)) ?? null,
    quorumLost: describeQuorumLoss(view, inv.file) ?? null,
    recovering:
      (await recoverJournal(live)
        .read(recoverJournalSchema)
        .catch(() => undefined)) ?? null,
    error: null,
  };
}

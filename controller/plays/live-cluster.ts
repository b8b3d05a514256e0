/**
 * The live cluster through the inventory hosts' SSH connections: the member list, each member's
 * status and health (asked of the host at its address, over a tunnel to its loopback client
 * port, or of its client URL through another host), the leader, and the journal kept in etcd.
 */
import { describeCause, TskvError } from '../errors.ts';
import {
  EtcdClient,
  EtcdCluster,
  type EtcdEndpoint,
  type EtcdId,
  type EtcdMember,
  type EtcdStatus,
  type MemberListResult,
} from '../etcd/index.ts';
import { EtcdTunnels } from '../etcd-tunnel.ts';
import type { ClusterView, MemberHealth } from '../ops/cluster-view.ts';
import { hostAt, memberAt } from '../ops/membership.ts';
import { type ReplaceJournal, replaceJournalSchema } from '../ops/replace-plan.ts';
import { Journal, RECOVER_JOURNAL_KEY } from '../run/journal.ts';
import type { HostChannel, Session } from './session.ts';

const PROBE_TIMEOUT_MS = 3000;

export interface MemberProbe {
  member: EtcdMember;
  /** The inventory host at the member's address, when there is one. */
  host: string | undefined;
  health: MemberHealth;
  status: EtcdStatus | undefined;
}

export interface LiveView extends ClusterView {
  clusterId: EtcdId;
  probes: MemberProbe[];
}

export class LiveCluster {
  readonly session: Session;
  readonly tunnels: EtcdTunnels;
  /** The record a replacement keeps in etcd while it runs. */
  readonly journal: Journal;
  /**
   * Members the running plan removes later: waiting for every member to be healthy does not wait
   * for them (a dead host swapped out). Checks before a restart or a removal still count them.
   */
  readonly leaving = new Set<EtcdId>();

  constructor(session: Session) {
    this.session = session;
    this.tunnels = new EtcdTunnels(session.inventory);
    this.journal = new Journal(() => this.cluster());
  }

  /** A connected inventory host's channel; an error naming why when it is not reachable. */
  channel(host: string): HostChannel {
    const ch = this.session.hosts.get(host);
    if (!ch) {
      const why = this.session.unreachable.find((u) => u.host === host)?.observed;
      throw new TskvError(
        'E_HOST_UNREACHABLE',
        `${host} is not reachable over SSH${why ? ` (${why})` : ''}`,
        {
          host,
          fix: `check that ${host} is up, then re-run the same command: it resumes`,
        },
      );
    }
    return ch;
  }

  /** The member at inventory host `host`'s peer address in `members` (whatever its name). */
  memberOnHost(members: EtcdMember[], host: string): EtcdMember | undefined {
    const inv = this.session.inventory;
    const spec = inv.hosts.find((h) => h.name === host);
    return spec ? memberAt(inv, members, spec) : undefined;
  }

  /** The tunnel endpoint of a connected inventory host. */
  endpoint(host: string): EtcdEndpoint | undefined {
    const ch = this.session.hosts.get(host);
    return ch ? this.tunnels.endpoint(ch.conn) : undefined;
  }

  /** Every connected inventory host as one cluster client (failover between them). */
  cluster(timeoutMs = 5000): EtcdCluster {
    const endpoints = [...this.session.hosts.keys()].map((h) => this.endpoint(h)!);
    if (endpoints.length === 0) {
      throw new TskvError('E_NO_HOSTS', 'no inventory host could be reached', {
        fix: 'check SSH to the hosts (tskv preflight)',
      });
    }
    return new EtcdCluster(endpoints, { timeoutMs });
  }

  /** A member's client URL through another connected host, for members whose own host cannot be used. */
  private remoteEndpoint(m: EtcdMember, except: string | undefined): EtcdEndpoint | undefined {
    const url = m.clientURLs[0];
    const via = [...this.session.hosts.values()].find((ch) => ch.spec.name !== except);
    if (!url || !via) return undefined;
    return this.tunnels.endpoint(via.conn, { name: m.name || m.idHex, clientUrl: url });
  }

  async memberList(): Promise<MemberListResult> {
    try {
      return await this.cluster().memberList();
    } catch (err) {
      throw new TskvError('E_NO_CLUSTER', `no member answered the member list: ${describeCause(err)}`, {
        step: 'member list',
        fix: 'is etcd running? (tskv deploy starts it; tskv status shows each host)',
      });
    }
  }

  /**
   * Where a member answers: through its own inventory host's connection, else (its host gone from
   * the inventory or unreachable) its client URL through another host's.
   */
  memberEndpoint(m: EtcdMember): EtcdEndpoint | undefined {
    const host = hostAt(this.session.inventory, m);
    return (host ? this.endpoint(host.name) : undefined) ?? this.remoteEndpoint(m, host?.name);
  }

  private async probe(m: EtcdMember): Promise<MemberProbe> {
    const host = hostAt(this.session.inventory, m);
    const none = (detail: string): MemberProbe => ({
      member: m,
      host: host?.name,
      health: { reachable: false, healthy: false, raftIndex: undefined, raftAppliedIndex: undefined, detail },
      status: undefined,
    });
    const endpoint = this.memberEndpoint(m);
    if (!endpoint) {
      return none(host ? `${host.name} is not reachable over SSH` : 'no inventory host has its address');
    }
    const where = host?.name ?? endpoint.name;
    const client = new EtcdClient(endpoint, { timeoutMs: PROBE_TIMEOUT_MS });
    let status: EtcdStatus;
    try {
      status = await client.status();
    } catch (err) {
      return none(`etcd on ${where} does not answer: ${describeCause(err)}`);
    }
    if (status.memberId !== m.id) return none(`${where} runs another member (${status.memberId})`);
    const indexes = { raftIndex: status.raftIndex, raftAppliedIndex: status.raftAppliedIndex };
    if (m.isLearner) {
      const health = { reachable: true, healthy: true, ...indexes, detail: 'learner' };
      return { member: m, host: host?.name, status, health };
    }
    const h = await client.health().catch((err: unknown) => ({ healthy: false, reason: describeCause(err) }));
    const detail = h.healthy ? 'healthy' : `unhealthy${h.reason ? `: ${h.reason}` : ''}`;
    return {
      member: m,
      host: host?.name,
      status,
      health: { reachable: true, healthy: h.healthy, ...indexes, detail },
    };
  }

  /** Member list, every member's health, and the leader (as most reachable members report it). */
  async view(): Promise<LiveView> {
    const list = await this.memberList();
    const probes = await Promise.all(list.members.map((m) => this.probe(m)));
    const votes = new Map<EtcdId, number>();
    for (const p of probes) {
      const l = p.status?.leaderId;
      if (l && l !== '0') votes.set(l, (votes.get(l) ?? 0) + 1);
    }
    const leaderId = [...votes].sort((a, b) => b[1] - a[1])[0]?.[0];
    return {
      clusterId: list.clusterId,
      members: list.members,
      health: new Map(probes.map((p) => [p.member.id, p.health])),
      leaderId: leaderId !== undefined && list.members.some((m) => m.id === leaderId) ? leaderId : undefined,
      probes,
    };
  }

  /**
   * The cluster version (/version's etcdcluster, "3.5.0"; "not_decided" before the members agree on
   * one) as the first connected member that answers says; undefined when none answers.
   */
  async clusterVersion(): Promise<string | undefined> {
    const answers = await this.cluster(PROBE_TIMEOUT_MS).each((c) => c.version());
    return answers.flatMap((a) => (a.ok ? [a.value.cluster] : []))[0];
  }

  /** The replacement under way, if one is (its record validated). */
  readJournal(): Promise<ReplaceJournal | undefined> {
    return this.journal.read(replaceJournalSchema);
  }

  /**
   * Refuses `what` while a recovery from a lost quorum is under way (its record in the cluster):
   * the hosts it has not brought back yet still hold the old cluster's data, and only recover
   * knows what to do with them.
   */
  async refuseDuringRecovery(what: string): Promise<void> {
    const record = await this.cluster().get(RECOVER_JOURNAL_KEY);
    if (!record) return;
    throw new TskvError(
      'E_REFUSED',
      `${what} refused, nothing was changed: a recovery from a lost quorum is under way`,
      {
        step: 'plan',
        fix: `finish it first: tskv recover ${this.session.inventory.file} --yes (tskv status shows it)`,
      },
    );
  }

  async close(): Promise<void> {
    await this.tunnels.close();
  }
}

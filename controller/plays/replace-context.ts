/** What every replacement step shares: the live cluster, notes for the operator, prepared hosts, and small lookups. */
import type { FactsResponse } from '../../agent/api/index.ts';
import { TskvError } from '../errors.ts';
import { EtcdCluster, type EtcdId, type EtcdMember, isEtcdError } from '../etcd/index.ts';
import { peerUrl } from '../render/urls.ts';
import type { LiveCluster, LiveView } from './member-cluster.ts';
import type { HostChannel } from './session.ts';

/** How long a learner may take to start and catch up before it is called stuck (and removed). */
export const CATCH_UP_DEADLINE_MS = 60_000;
export const CHANGE_DEADLINE_MS = 20_000;
export const HEALTHY_DEADLINE_MS = 60_000;

export interface StepContext {
  live: LiveCluster;
  /** Lines for the operator (warnings, what changed). */
  note: (line: string) => void;
  /** Hosts prepared in this run (etcd installed, ports open), with their facts. */
  prepared: Map<string, FactsResponse>;
}

export function stepContext(live: LiveCluster, note: (line: string) => void): StepContext {
  return { live, note, prepared: new Map() };
}

export const temporaryRefusal = (err: unknown): boolean =>
  isEtcdError(err) && (err.isUnhealthyCluster() || err.isLearnerNotReady() || err.isUnavailable());

/** A client over the healthy voters only: membership changes go to a voting member that can serve them. */
export function votersCluster(ctx: StepContext, view: LiveView, except?: EtcdId): EtcdCluster {
  const endpoints = view.probes
    .filter((p) => !p.member.isLearner && p.health.healthy && p.member.id !== except && p.host)
    .map((p) => ctx.live.endpoint(p.host!)!)
    .filter((e) => e !== undefined);
  if (endpoints.length === 0) {
    throw new TskvError('E_NO_VOTER', 'no healthy voting member is reachable', {
      step: 'membership change',
      fix: 'tskv status shows which members are down',
    });
  }
  return new EtcdCluster(endpoints, { timeoutMs: 10_000 });
}

export function channel(ctx: StepContext, host: string): HostChannel {
  const ch = ctx.live.session.hosts.get(host);
  if (!ch) {
    const why = ctx.live.session.unreachable.find((u) => u.host === host)?.observed;
    throw new TskvError('E_HOST_UNREACHABLE', `${host} is not reachable over SSH${why ? ` (${why})` : ''}`, {
      host,
      fix: `check that ${host} is up, then re-run the same command: it resumes`,
    });
  }
  return ch;
}

export function memberAt(ctx: StepContext, members: EtcdMember[], host: string): EtcdMember | undefined {
  const spec = ctx.live.session.inventory.hosts.find((h) => h.name === host);
  if (!spec) return undefined;
  const url = peerUrl(spec, ctx.live.session.inventory);
  return members.find((m) => m.peerURLs.includes(url));
}

import { TskvError } from '../errors.ts';
import {
  DEFAULT_TIMEOUT_MS,
  EtcdClient,
  type HealthResult,
  type KeyValue,
  type MemberAddResult,
  type MemberListResult,
} from './client.ts';
import { EtcdError, isEtcdError } from './errors.ts';
import type { EtcdId } from './ids.ts';
import type { EtcdMember, EtcdStatus } from './members.ts';
import type { CallOptions, EtcdEndpoint } from './transport.ts';

/** One endpoint's answer (or failure) in a fan-out to every endpoint. */
export type EndpointResult<T> =
  | { endpoint: string; ok: true; value: T }
  | { endpoint: string; ok: false; error: EtcdError };

export interface FailoverOptions {
  /**
   * Safe to repeat on another endpoint after a timeout (reads, status, put of the same value).
   * Membership changes are not: they move on only when the request was certainly not applied
   * (connection refused, a learner refused it, or the member asked refused it under
   * `--strict-reconfig-check`, which each member judges from its own peer connections before
   * proposing anything: another member may accept it).
   */
  idempotent: boolean;
  /** Membership changes: try endpoints known to be learners last. */
  votersFirst?: boolean;
}

/**
 * Several endpoints of one cluster. Calls go to the endpoint that last answered and move on to the
 * next one when an endpoint is unavailable, as etcd's own clients do. Membership changes go to
 * voting members (learners answer them with 503 "rpc not supported for learner").
 */
export class EtcdCluster {
  readonly clients: EtcdClient[];
  private preferred = 0;
  private readonly learners = new Set<string>();

  constructor(endpoints: EtcdEndpoint[], options: { timeoutMs?: number } = {}) {
    if (endpoints.length === 0) throw new TskvError('E_ETCD_NO_ENDPOINTS', 'no etcd endpoints given');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.clients = endpoints.map((e) => new EtcdClient(e, { timeoutMs }));
  }

  client(name: string): EtcdClient | undefined {
    return this.clients.find((c) => c.name === name);
  }

  private order(votersFirst: boolean): EtcdClient[] {
    const n = this.clients.length;
    const rotated = Array.from({ length: n }, (_, i) => this.clients[(this.preferred + i) % n]!);
    if (!votersFirst) return rotated;
    return [
      ...rotated.filter((c) => !this.learners.has(c.name)),
      ...rotated.filter((c) => this.learners.has(c.name)),
    ];
  }

  /** Runs `fn` on one endpoint after another until one succeeds or an error is not worth retrying. */
  async withFailover<T>(
    operation: string,
    fn: (c: EtcdClient) => Promise<T>,
    options: FailoverOptions,
  ): Promise<T> {
    const failures: EtcdError[] = [];
    for (const c of this.order(options.votersFirst ?? false)) {
      try {
        const value = await fn(c);
        this.preferred = this.clients.indexOf(c);
        return value;
      } catch (err) {
        if (!isEtcdError(err)) throw err;
        if (err.isLearnerRpcRefused()) this.learners.add(c.name);
        const retry =
          err.isNotSent() ||
          err.isLearnerRpcRefused() ||
          err.isUnhealthyCluster() ||
          (options.idempotent && err.isUnavailable());
        if (!retry) throw err;
        failures.push(err);
      }
    }
    const last = failures[failures.length - 1]!;
    throw new EtcdError({
      kind: last.kind,
      endpoint: failures.map((f) => f.endpoint).join(', '),
      operation,
      etcdMessage: `no endpoint could serve it: ${failures.map((f) => `${f.endpoint}: ${f.etcdMessage}`).join('; ')}`,
      ...(last.httpStatus === undefined ? {} : { httpStatus: last.httpStatus }),
      ...(last.grpcCode === undefined ? {} : { grpcCode: last.grpcCode }),
      cause: last,
    });
  }

  /** Calls every endpoint in parallel; failures are results, not exceptions. */
  async each<T>(fn: (c: EtcdClient) => Promise<T>): Promise<EndpointResult<T>[]> {
    return Promise.all(
      this.clients.map(async (c): Promise<EndpointResult<T>> => {
        try {
          return { endpoint: c.name, ok: true, value: await fn(c) };
        } catch (err) {
          if (!isEtcdError(err)) throw err;
          return { endpoint: c.name, ok: false, error: err };
        }
      }),
    );
  }

  memberList(options?: CallOptions): Promise<MemberListResult> {
    return this.withFailover('member list', (c) => c.memberList(options), { idempotent: true });
  }

  memberAdd(peerURLs: string[], isLearner: boolean, options?: CallOptions): Promise<MemberAddResult> {
    const op = (c: EtcdClient) => c.memberAdd(peerURLs, isLearner, options);
    return this.withFailover('member add', op, { idempotent: false, votersFirst: true });
  }

  memberRemove(id: EtcdId, options?: CallOptions): Promise<EtcdMember[]> {
    const op = (c: EtcdClient) => c.memberRemove(id, options);
    return this.withFailover('member remove', op, { idempotent: false, votersFirst: true });
  }

  memberPromote(id: EtcdId, options?: CallOptions): Promise<EtcdMember[]> {
    const op = (c: EtcdClient) => c.memberPromote(id, options);
    return this.withFailover('member promote', op, { idempotent: false, votersFirst: true });
  }

  memberUpdate(id: EtcdId, peerURLs: string[], options?: CallOptions): Promise<EtcdMember[]> {
    const op = (c: EtcdClient) => c.memberUpdate(id, peerURLs, options);
    return this.withFailover('member update', op, { idempotent: false, votersFirst: true });
  }

  put(key: string, value: string, options?: CallOptions): Promise<number> {
    return this.withFailover('put', (c) => c.put(key, value, options), { idempotent: true });
  }

  get(key: string, options?: CallOptions & { serializable?: boolean }): Promise<KeyValue | undefined> {
    return this.withFailover('get', (c) => c.get(key, options), { idempotent: true });
  }

  /** See EtcdClient.swapIf. Not retried elsewhere after a timeout: it may have been applied. */
  swapIf(
    key: string,
    expected: string | undefined,
    value: string | undefined,
    options?: CallOptions,
  ): Promise<boolean> {
    return this.withFailover('txn', (c) => c.swapIf(key, expected, value, options), { idempotent: false });
  }

  deleteKey(key: string, options?: CallOptions): Promise<number> {
    return this.withFailover('delete', (c) => c.deleteKey(key, options), { idempotent: true });
  }

  /** Status of every endpoint (also records which endpoints are learners). */
  async statusAll(options?: CallOptions): Promise<EndpointResult<EtcdStatus>[]> {
    const results = await this.each((c) => c.status(options));
    for (const r of results) {
      if (!r.ok) continue;
      if (r.value.isLearner) this.learners.add(r.endpoint);
      else this.learners.delete(r.endpoint);
    }
    return results;
  }

  healthAll(options?: CallOptions): Promise<EndpointResult<HealthResult>[]> {
    return this.each((c) => c.health(options));
  }

  /** The endpoint that is the leader now, or undefined when none of the reachable ones leads. */
  async findLeader(options?: CallOptions): Promise<{ client: EtcdClient; status: EtcdStatus } | undefined> {
    for (const r of await this.statusAll(options)) {
      if (r.ok && r.value.isLeader) return { client: this.client(r.endpoint)!, status: r.value };
    }
    return undefined;
  }

  /** Hands leadership to `targetId` (sent to the current leader). No-op if it already leads. */
  async moveLeader(targetId: EtcdId, options?: CallOptions): Promise<void> {
    const leader = await this.findLeader(options);
    if (!leader) {
      throw new TskvError('E_ETCD_NO_LEADER', 'cannot move leadership: no reachable endpoint is the leader', {
        step: 'etcd move leader',
        fix: 'check that the cluster has quorum and that the leader host is reachable',
      });
    }
    if (leader.status.memberId === targetId) return;
    await leader.client.moveLeader(targetId, options);
  }
}

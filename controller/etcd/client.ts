import type { z } from 'zod';
import type { EtcdId } from './ids.ts';
import {
  type EtcdMember,
  type EtcdStatus,
  normaliseMember,
  normaliseMembers,
  normaliseStatus,
} from './members.ts';
import {
  deleteRangeResponseSchema,
  healthResponseSchema,
  memberAddResponseSchema,
  memberChangeResponseSchema,
  memberListResponseSchema,
  moveLeaderResponseSchema,
  putResponseSchema,
  rangeResponseSchema,
  statusResponseSchema,
  txnResponseSchema,
  versionResponseSchema,
} from './schemas.ts';
import {
  type CallOptions,
  type EtcdEndpoint,
  type HttpCall,
  parseReply,
  replyError,
  sendHttp,
} from './transport.ts';

export const DEFAULT_TIMEOUT_MS = 5000;

export interface MemberListResult {
  clusterId: EtcdId;
  /** The member that answered. */
  memberId: EtcdId;
  members: EtcdMember[];
}

export interface MemberAddResult extends MemberListResult {
  member: EtcdMember;
}

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
}

export interface HealthResult {
  healthy: boolean;
  /** 3.5+ explains an unhealthy answer; 3.4 does not. */
  reason?: string;
}

export interface VersionResult {
  server: string;
  cluster: string;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: string | undefined): string => Buffer.from(text ?? '', 'base64').toString('utf8');

/** etcd's v3 JSON gateway and plain endpoints on one client URL. Every call has a deadline. */
export class EtcdClient {
  readonly endpoint: EtcdEndpoint;
  readonly timeoutMs: number;

  constructor(endpoint: EtcdEndpoint, options: { timeoutMs?: number } = {}) {
    this.endpoint = endpoint;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get name(): string {
    return this.endpoint.name;
  }

  /** Raw HTTP (for the v2 helpers and probes): transport failures throw, HTTP errors do not. */
  send(call: Omit<HttpCall, 'timeoutMs' | 'signal'>, options: CallOptions = {}) {
    return sendHttp(this.endpoint, {
      ...call,
      timeoutMs: options.timeoutMs ?? this.timeoutMs,
      signal: options.signal,
    });
  }

  /** POST to the v3 gateway and validate the reply. */
  async v3<S extends z.ZodType>(
    operation: string,
    path: string,
    body: unknown,
    schema: S,
    options: CallOptions = {},
  ): Promise<z.infer<S>> {
    const reply = await this.send({ operation, method: 'POST', path: `/v3/${path}`, json: body }, options);
    return parseReply(this.endpoint, operation, reply, schema);
  }

  async memberList(options?: CallOptions): Promise<MemberListResult> {
    const r = await this.v3('member list', 'cluster/member/list', {}, memberListResponseSchema, options);
    return {
      clusterId: r.header?.cluster_id ?? '0',
      memberId: r.header?.member_id ?? '0',
      members: normaliseMembers(r.members),
    };
  }

  async memberAdd(peerURLs: string[], isLearner: boolean, options?: CallOptions): Promise<MemberAddResult> {
    const body = isLearner ? { peerURLs, isLearner: true } : { peerURLs };
    const r = await this.v3('member add', 'cluster/member/add', body, memberAddResponseSchema, options);
    return {
      clusterId: r.header?.cluster_id ?? '0',
      memberId: r.header?.member_id ?? '0',
      member: normaliseMember(r.member),
      members: normaliseMembers(r.members),
    };
  }

  async memberRemove(id: EtcdId, options?: CallOptions): Promise<EtcdMember[]> {
    const r = await this.v3(
      'member remove',
      'cluster/member/remove',
      { ID: id },
      memberChangeResponseSchema,
      options,
    );
    return normaliseMembers(r.members);
  }

  async memberPromote(id: EtcdId, options?: CallOptions): Promise<EtcdMember[]> {
    const r = await this.v3(
      'member promote',
      'cluster/member/promote',
      { ID: id },
      memberChangeResponseSchema,
      options,
    );
    return normaliseMembers(r.members);
  }

  /** Changes a member's peer URLs. Never use on a learner (3.4 clears the learner flag). */
  async memberUpdate(id: EtcdId, peerURLs: string[], options?: CallOptions): Promise<EtcdMember[]> {
    const body = { ID: id, peerURLs };
    const r = await this.v3(
      'member update',
      'cluster/member/update',
      body,
      memberChangeResponseSchema,
      options,
    );
    return normaliseMembers(r.members);
  }

  async status(options?: CallOptions): Promise<EtcdStatus> {
    const r = await this.v3('status', 'maintenance/status', {}, statusResponseSchema, options);
    return normaliseStatus(this.endpoint.name, r);
  }

  /** Asks the leader (this endpoint must be it) to hand leadership to `targetId`. */
  async moveLeader(targetId: EtcdId, options?: CallOptions): Promise<void> {
    await this.v3(
      'move leader',
      'maintenance/transfer-leadership',
      { targetID: targetId },
      moveLeaderResponseSchema,
      options,
    );
  }

  /** Writes a key; returns the revision of the write. */
  async put(key: string, value: string, options?: CallOptions): Promise<number> {
    const r = await this.v3(
      'put',
      'kv/put',
      { key: b64(key), value: b64(value) },
      putResponseSchema,
      options,
    );
    return Number(r.header?.revision ?? '0');
  }

  /** Reads a key (linearizable unless `serializable`, which learners also serve). */
  async get(
    key: string,
    options: CallOptions & { serializable?: boolean } = {},
  ): Promise<KeyValue | undefined> {
    const body = options.serializable ? { key: b64(key), serializable: true } : { key: b64(key) };
    const r = await this.v3('get', 'kv/range', body, rangeResponseSchema, options);
    const kv = r.kvs?.[0];
    if (!kv) return undefined;
    return {
      key: unb64(kv.key),
      value: unb64(kv.value),
      createRevision: Number(kv.create_revision ?? '0'),
      modRevision: Number(kv.mod_revision ?? '0'),
      version: Number(kv.version ?? '0'),
    };
  }

  /**
   * Compare-and-swap through a transaction: writes `value` (or deletes the key when value is
   * undefined) only if the key still holds `expected` (undefined: only if the key does not exist).
   * Resolves true when it did.
   */
  async swapIf(
    key: string,
    expected: string | undefined,
    value: string | undefined,
    options?: CallOptions,
  ): Promise<boolean> {
    const compare =
      expected === undefined
        ? { result: 'EQUAL', target: 'CREATE', key: b64(key), create_revision: '0' }
        : { result: 'EQUAL', target: 'VALUE', key: b64(key), value: b64(expected) };
    const op =
      value === undefined
        ? { request_delete_range: { key: b64(key) } }
        : { request_put: { key: b64(key), value: b64(value) } };
    const r = await this.v3(
      'txn',
      'kv/txn',
      { compare: [compare], success: [op] },
      txnResponseSchema,
      options,
    );
    return r.succeeded === true;
  }

  /** How many keys the whole keyspace holds, and the revision it was counted at. */
  async countKeys(options?: CallOptions): Promise<{ count: number; revision: number }> {
    const all = { key: b64('\0'), range_end: b64('\0'), count_only: true };
    const r = await this.v3('count keys', 'kv/range', all, rangeResponseSchema, options);
    return { count: Number(r.count ?? '0'), revision: Number(r.header?.revision ?? '0') };
  }

  /** Deletes a key; returns how many were deleted (0 or 1). */
  async deleteKey(key: string, options?: CallOptions): Promise<number> {
    const r = await this.v3(
      'delete',
      'kv/deleterange',
      { key: b64(key) },
      deleteRangeResponseSchema,
      options,
    );
    return Number(r.deleted ?? '0');
  }

  /** `/health`: 200 healthy, 503 unhealthy (both answers, not errors). */
  async health(options?: CallOptions): Promise<HealthResult> {
    const reply = await this.send({ operation: 'health', method: 'GET', path: '/health' }, options);
    if (reply.status !== 200 && reply.status !== 503) throw replyError(this.endpoint, 'health', reply);
    const r = parseReply(this.endpoint, 'health', { ...reply, status: 200 }, healthResponseSchema);
    return {
      healthy: reply.status === 200 && r.health === 'true',
      ...(r.reason ? { reason: r.reason } : {}),
    };
  }

  async version(options?: CallOptions): Promise<VersionResult> {
    const reply = await this.send({ operation: 'version', method: 'GET', path: '/version' }, options);
    const r = parseReply(this.endpoint, 'version', reply, versionResponseSchema);
    return { server: r.etcdserver, cluster: r.etcdcluster };
  }
}

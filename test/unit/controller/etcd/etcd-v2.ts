/**
 * The seed's own checks through etcd's v2 API (`curl .../v2/members`, `curl .../v2/keys/message`,
 * etcd 2.x `etcdctl member list`), for tests only: tskv itself speaks v3. The v2 API answers only
 * with `--enable-v2` on 3.4/3.5 (404 otherwise) and not at all on 3.6; the tests use it to prove
 * the `enable-v2` flag reached etcd.
 */
import { z } from 'zod';
import type { EtcdClient } from '../../../../controller/etcd/client.ts';
import { EtcdError } from '../../../../controller/etcd/errors.ts';
import { hexToId } from '../../../../controller/etcd/ids.ts';
import type { EtcdMember } from '../../../../controller/etcd/members.ts';
import { type CallOptions, parseReply } from '../../../../controller/etcd/transport.ts';

/** `/v2/members`: IDs are hex there. */
const v2MembersResponseSchema = z.looseObject({
  members: z.array(
    z.looseObject({
      id: z.string(),
      name: z.string().optional(),
      peerURLs: z.array(z.string()).optional(),
      clientURLs: z.array(z.string()).optional(),
    }),
  ),
});

const v2NodeSchema = z.looseObject({
  key: z.string().optional(),
  value: z.string().optional(),
  modifiedIndex: z.number().optional(),
  createdIndex: z.number().optional(),
});

/** `/v2/keys/...` reply (the seed's "简单测试"). */
const v2KeyResponseSchema = z.looseObject({
  action: z.string(),
  node: v2NodeSchema,
  prevNode: v2NodeSchema.optional(),
});

/** `/v2/keys` error body: `{"errorCode":100,"message":"Key not found","cause":"/x","index":9}`. */
const v2ErrorSchema = z.looseObject({
  errorCode: z.number(),
  message: z.string(),
  cause: z.string().optional(),
});

export interface V2Node {
  key: string;
  value: string;
  modifiedIndex: number;
}

/** `GET /v2/members`, normalised like the v3 list (IDs converted from hex to decimal). */
export async function v2Members(client: EtcdClient, options?: CallOptions): Promise<EtcdMember[]> {
  const reply = await client.send({ operation: 'v2 members', method: 'GET', path: '/v2/members' }, options);
  const r = parseReply(client.endpoint, 'v2 members', reply, v2MembersResponseSchema);
  return r.members.map((m) => {
    const name = m.name ?? '';
    return {
      id: hexToId(m.id),
      idHex: m.id.toLowerCase(),
      name,
      peerURLs: m.peerURLs ?? [],
      clientURLs: m.clientURLs ?? [],
      isLearner: false,
      started: name !== '',
    };
  });
}

function keyPath(key: string): string {
  return `/v2/keys/${key.replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/')}`;
}

/** `PUT /v2/keys/KEY -d value=...` (the seed's `curl -XPUT -d value="set by h104"`). */
export async function v2Put(
  client: EtcdClient,
  key: string,
  value: string,
  options?: CallOptions,
): Promise<V2Node> {
  const call = { operation: 'v2 put', method: 'PUT', path: keyPath(key), form: { value } } as const;
  const reply = await client.send(call, options);
  const r = parseReply(client.endpoint, 'v2 put', reply, v2KeyResponseSchema);
  return { key: r.node.key ?? key, value: r.node.value ?? '', modifiedIndex: r.node.modifiedIndex ?? 0 };
}

/** `GET /v2/keys/KEY`; undefined when etcd answers "Key not found" (errorCode 100). */
export async function v2Get(
  client: EtcdClient,
  key: string,
  options?: CallOptions,
): Promise<V2Node | undefined> {
  const reply = await client.send({ operation: 'v2 get', method: 'GET', path: keyPath(key) }, options);
  if (reply.status === 404) {
    let body: unknown;
    try {
      body = JSON.parse(reply.text);
    } catch {
      body = undefined;
    }
    const err = v2ErrorSchema.safeParse(body);
    if (err.success && err.data.errorCode === 100) return undefined;
    throw new EtcdError({
      kind: 'response',
      endpoint: client.name,
      operation: 'v2 get',
      etcdMessage: err.success ? err.data.message : 'the v2 API is not enabled (start etcd with --enable-v2)',
      httpStatus: 404,
    });
  }
  const r = parseReply(client.endpoint, 'v2 get', reply, v2KeyResponseSchema);
  return { key: r.node.key ?? key, value: r.node.value ?? '', modifiedIndex: r.node.modifiedIndex ?? 0 };
}

/** etcd 2.x `etcdctl member list`, the seed's form ("84099faad6d56427: name=h102 peerURLs=... clientURLs=..."). */
export function formatMemberListV2(members: EtcdMember[]): string {
  return members
    .map((m) =>
      m.started
        ? `${m.idHex}: name=${m.name} peerURLs=${m.peerURLs.join(',')} clientURLs=${m.clientURLs.join(',')}`
        : `${m.idHex}[unstarted]: peerURLs=${m.peerURLs.join(',')}`,
    )
    .join('\n');
}

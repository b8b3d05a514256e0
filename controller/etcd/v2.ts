import type { EtcdClient } from './client.ts';
import { EtcdError } from './errors.ts';
import { hexToId } from './ids.ts';
import type { EtcdMember } from './members.ts';
import { v2ErrorSchema, v2KeyResponseSchema, v2MembersResponseSchema } from './schemas.ts';
import { type CallOptions, parseReply } from './transport.ts';

/**
 * The seed's own checks through the v2 API (`curl .../v2/members`, `curl .../v2/keys/message`).
 * They work only with `--enable-v2` on 3.4/3.5 (404 otherwise) and not at all on 3.6;
 * tskv itself uses v3 and calls these only to prove the `enable-v2` flag reached etcd.
 */

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

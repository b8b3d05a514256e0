import { type Dispatcher, request } from 'undici';
import type { z } from 'zod';
import { EtcdError, type EtcdFailureKind } from './errors.ts';
import { gatewayErrorSchema } from './schemas.ts';

/**
 * One etcd client URL and how to reach it. `dispatcher` is an undici Dispatcher supplied by the
 * caller (e.g. a Client whose `connect` returns `conn.openTcp('127.0.0.1', 2379)` over SSH); when
 * absent, undici's global dispatcher connects directly.
 */
export interface EtcdEndpoint {
  /** Shown in errors and results, usually the inventory host name. */
  name: string;
  /** e.g. "http://127.0.0.1:2379" (with an SSH tunnel: the URL as seen from the host). */
  url: string;
  dispatcher?: Dispatcher;
}

export interface CallOptions {
  /** Per-call deadline; the client's default when omitted. */
  timeoutMs?: number;
  /** Cancels the call (e.g. the whole command was interrupted). */
  signal?: AbortSignal;
}

export interface HttpCall {
  operation: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** JSON-encoded for POST; form-encoded when `form` is set (the v2 keys API). */
  json?: unknown;
  form?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export interface HttpReply {
  status: number;
  text: string;
}

const UNREACHABLE = new Set([
  // The SSH tunnel's channel could not be opened (nothing listens at the far end): nothing was sent.
  'E_SSH_CHANNEL',
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

function errorCodes(err: unknown): string[] {
  const codes: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur instanceof Error && depth < 4; depth++) {
    const code = (cur as NodeJS.ErrnoException).code;
    if (typeof code === 'string') codes.push(code);
    if (cur instanceof AggregateError) for (const e of cur.errors) codes.push(...errorCodes(e));
    cur = cur.cause;
  }
  return codes;
}

function transportFailure(err: unknown, timedOut: boolean): { kind: EtcdFailureKind; message: string } {
  const codes = errorCodes(err);
  const detail = codes[0] ?? (err instanceof Error ? err.message : String(err));
  if (timedOut) return { kind: 'timeout', message: 'no reply before the deadline' };
  if (codes.some((c) => UNREACHABLE.has(c)))
    return { kind: 'unreachable', message: `cannot connect (${detail})` };
  if (codes.some((c) => TIMEOUTS.has(c))) return { kind: 'timeout', message: `timed out (${detail})` };
  if (err instanceof Error && err.name === 'AbortError') return { kind: 'timeout', message: 'aborted' };
  return { kind: 'broken', message: `connection failed (${detail})` };
}

/** Sends one HTTP request to the endpoint; transport failures become EtcdErrors, HTTP errors do not. */
export async function sendHttp(endpoint: EtcdEndpoint, call: HttpCall): Promise<HttpReply> {
  const timeout = AbortSignal.timeout(call.timeoutMs);
  const signal = call.signal ? AbortSignal.any([timeout, call.signal]) : timeout;
  const url = new URL(call.path, endpoint.url);
  let body: string | undefined;
  const headers: Record<string, string> = {};
  if (call.form) {
    body = new URLSearchParams(call.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (call.json !== undefined) {
    body = JSON.stringify(call.json);
    headers['content-type'] = 'application/json';
  }
  try {
    const res = await request(url, {
      method: call.method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal,
      ...(endpoint.dispatcher ? { dispatcher: endpoint.dispatcher } : {}),
    });
    return { status: res.statusCode, text: await res.body.text() };
  } catch (err) {
    const { kind, message } = transportFailure(err, timeout.aborted);
    throw new EtcdError({
      kind,
      endpoint: endpoint.name,
      operation: call.operation,
      etcdMessage: message,
      cause: err,
    });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** An HTTP error reply as an EtcdError, keeping the gateway's `message` and gRPC `code`. */
export function replyError(endpoint: EtcdEndpoint, operation: string, reply: HttpReply): EtcdError {
  const parsed = gatewayErrorSchema.safeParse(parseJson(reply.text));
  const message = parsed.success ? (parsed.data.message ?? parsed.data.error) : undefined;
  return new EtcdError({
    kind: 'response',
    endpoint: endpoint.name,
    operation,
    etcdMessage: message ?? `HTTP ${reply.status}: ${reply.text.trim().slice(0, 200)}`,
    httpStatus: reply.status,
    ...(parsed.success && parsed.data.code !== undefined ? { grpcCode: parsed.data.code } : {}),
  });
}

/** Parses a 2xx JSON reply with `schema`; anything else is an EtcdError. */
export function parseReply<S extends z.ZodType>(
  endpoint: EtcdEndpoint,
  operation: string,
  reply: HttpReply,
  schema: S,
): z.infer<S> {
  if (reply.status < 200 || reply.status >= 300) throw replyError(endpoint, operation, reply);
  const parsed = schema.safeParse(parseJson(reply.text));
  if (!parsed.success) {
    throw new EtcdError({
      kind: 'bad-response',
      endpoint: endpoint.name,
      operation,
      etcdMessage: `unexpected reply: ${parsed.error.issues[0]?.message ?? 'invalid'} in ${reply.text.slice(0, 200)}`,
      httpStatus: reply.status,
    });
  }
  return parsed.data;
}

import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type buildConnector, Client, Pool, errors as undiciErrors } from 'undici';
import {
  AGENT_ERROR_CODES,
  type AgentErrorCode,
  type AgentRoute,
  describeIssues,
  errorBodySchema,
  type RequestOf,
  type ResponseOf,
} from '../../agent/api/index.ts';
import { describeCause, type ErrorCode, TskvError } from '../errors.ts';

export interface AgentClientOptions {
  /** The host the agent runs on (for error messages). */
  host: string;
  /** A fresh byte stream to the agent's socket, e.g. `() => conn.openUnixSocket(path)`. */
  openStream: () => Promise<Duplex>;
  /** Per-request deadline unless a call gives its own. Default 30 s. */
  timeoutMs?: number;
  /**
   * HTTP connections (streams, i.e. SSH channels) at most; calls beyond wait for a free one. Default 3:
   * a slow call (a probe waiting for its timeout) does not hold up the others, and the SSH connection
   * keeps channels for commands (OpenSSH allows 10).
   */
  connections?: number;
}

export interface CallOptions {
  /** Label used in errors ("facts", "probe h102:2380", ...). Default: the route's path. */
  step?: string;
  timeoutMs?: number;
}

/** Whatever a host answers is untrusted: only the agent's own codes pass through as they are. */
function isAgentErrorCode(code: string): code is AgentErrorCode {
  return (AGENT_ERROR_CODES as readonly string[]).includes(code);
}

/**
 * Typed calls to one host's agent over HTTP/1.1 on a stream we hand to undici (an SSH channel in
 * production, a local socket in tests). Requests and replies are checked against agent/api.
 */
export class AgentClient {
  readonly host: string;
  readonly #client: Pool;
  readonly #timeoutMs: number;
  readonly #connect: buildConnector.connector;

  constructor(options: AgentClientOptions) {
    this.host = options.host;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    // undici's HTTP/1 client needs only a Duplex (write, cork/uncork, destroy) from its socket.
    this.#connect = (_opts, callback) => {
      options.openStream().then(
        (stream) => callback(null, stream as Socket),
        (err: Error) => callback(err, null),
      );
    };
    this.#client = new Pool('http://tskv-agent', {
      connections: options.connections ?? 8,
      connect: this.#connect,
      pipelining: 1,
      keepAliveTimeout: 60_000,
      keepAliveMaxTimeout: 600_000,
    });
  }

  /** An error reply as the TskvError it stands for; only the agent's own codes pass through. */
  #replyError(status: number, body: unknown, step: string): TskvError {
    const e = errorBodySchema.safeParse(body);
    if (!e.success)
      return this.#error('E_AGENT_PROTOCOL', `agent replied ${status} without an error body`, step);
    const { code, message } = e.data.error;
    if (!isAgentErrorCode(code)) {
      return this.#error(
        'E_AGENT_PROTOCOL',
        `agent replied ${status} with an unknown error code ${JSON.stringify(code.slice(0, 64))}: ${message}`,
        step,
      );
    }
    return this.#error(code, message, step);
  }

  #error(code: ErrorCode, message: string, step: string, cause?: unknown): TskvError {
    return new TskvError(code, message, { host: this.host, step, ...(cause === undefined ? {} : { cause }) });
  }

  async call<R extends AgentRoute>(
    route: R,
    request: RequestOf<R>,
    options: CallOptions = {},
  ): Promise<ResponseOf<R>> {
    const step = options.step ?? `agent ${route.path}`;
    const checked = route.request.safeParse(request);
    if (!checked.success) {
      throw this.#error(
        'E_AGENT_BAD_REQUEST',
        `request to ${route.path} is invalid: ${describeIssues(checked.error)}`,
        step,
      );
    }
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    let status: number;
    let text: string;
    try {
      const res = await this.#client.request({
        method: route.method,
        path: route.path,
        headers: { 'content-type': 'application/json' },
        // Send what the caller gave (defaults are applied on the agent, which validates again).
        ...(route.method === 'GET' ? {} : { body: JSON.stringify(request) }),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      const timedOut =
        err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError;
      throw timedOut
        ? this.#error(
            'E_AGENT_TIMEOUT',
            `agent did not answer ${route.path} within ${timeoutMs} ms`,
            step,
            err,
          )
        : this.#error('E_AGENT_UNREACHABLE', `agent unreachable: ${describeCause(err)}`, step, err);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw this.#error('E_AGENT_PROTOCOL', `agent replied ${status} with a body that is not JSON`, step);
    }
    if (status < 200 || status > 299) throw this.#replyError(status, body, step);
    const reply = route.response.safeParse(body);
    if (!reply.success) {
      throw this.#error(
        'E_AGENT_PROTOCOL',
        `agent reply to ${route.path} does not match: ${describeIssues(reply.error)}`,
        step,
      );
    }
    return reply.data as ResponseOf<R>;
  }

  /**
   * A hold route (agent/api holdRoutes) on a connection of its own: resolves to the first line of
   * the reply once the agent granted it, and `release` closes that connection, which ends the hold.
   */
  async hold<R extends AgentRoute>(
    route: R,
    request: RequestOf<R>,
    options: CallOptions = {},
  ): Promise<{ reply: ResponseOf<R>; release(): void; ended(): boolean }> {
    const step = options.step ?? `agent ${route.path}`;
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const client = new Client('http://tskv-agent', { connect: this.#connect, pipelining: 1 });
    const release = () => void client.destroy().catch(() => undefined);
    try {
      const res = await client.request({
        method: route.method,
        path: route.path,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request),
        headersTimeout: timeoutMs,
        bodyTimeout: 0,
      });
      if (res.statusCode !== 200) {
        const text = await res.body.text();
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        throw this.#replyError(res.statusCode, body, step);
      }
      // The reply goes on for as long as the hold: read its first line, leave the rest unread.
      const line = await new Promise<string>((resolve, reject) => {
        let text = '';
        const onData = (chunk: Buffer) => {
          text += chunk;
          if (!text.includes('\n')) return;
          res.body.off('data', onData);
          res.body.pause();
          resolve(text);
        };
        res.body.on('data', onData);
        res.body.once('error', reject);
        res.body.once('end', () => reject(new Error(`${route.path} ended before its first line`)));
      });
      const reply = route.response.safeParse(JSON.parse(line.slice(0, line.indexOf('\n'))));
      if (!reply.success) {
        throw this.#error(
          'E_AGENT_PROTOCOL',
          `agent reply to ${route.path} does not match: ${describeIssues(reply.error)}`,
          step,
        );
      }
      // The hold lasts as long as this reply: its end (the agent ended the hold, or the connection
      // dropped) is the grant's end.
      let ended = false;
      const end = () => {
        ended = true;
      };
      res.body.once('close', end);
      res.body.once('error', end);
      return { reply: reply.data as ResponseOf<R>, release, ended: () => ended };
    } catch (err) {
      release();
      if (err instanceof TskvError) throw err;
      throw this.#error('E_AGENT_UNREACHABLE', `agent unreachable: ${describeCause(err)}`, step, err);
    }
  }

  /** Close the HTTP connection (the agent keeps running until its SSH channel closes). */
  async close(): Promise<void> {
    await this.#client.close().catch(() => this.#client.destroy());
  }
}

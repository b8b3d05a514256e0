/**
 * The host downloads the etcd tarball itself (inventory `etcd.fetch: host`). Whoever reaches the
 * agent's socket is root already, but the URL and the server's answers are untrusted: only http(s),
 * http only when asked for, a bounded number of redirects and never from https to http, a size
 * cap (announced or counted), and the bytes reach the cache only once their sha256 is the one asked.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { dirname } from 'node:path';
import { getCACertificates } from 'node:tls';
import { ETCD_FETCH_MAX_BYTES, ETCD_FETCH_MAX_REDIRECTS, type routes } from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { checkTarball } from '../policy/etcd.ts';
import { HOST_LAYOUT, type HostLayout } from '../policy/layout.ts';
import { syncDir } from '../system/atomic-file.ts';
import { fileSha256 } from '../system/file-sha256.ts';
import type { Handler } from './types.ts';

export interface FetchLimits {
  maxRedirects: number;
  /** The whole download, redirects included. */
  timeoutMs: number;
}

const LIMITS: FetchLimits = { maxRedirects: ETCD_FETCH_MAX_REDIRECTS, timeoutMs: 15 * 60_000 };
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function downloadError(message: string): AgentError {
  return new AgentError('E_AGENT_DOWNLOAD', message, 502);
}

/** A transport error in a few words ("connect ECONNREFUSED 10.0.0.9:8080", "timed out"). */
function describeHttpError(err: unknown, signal: AbortSignal): string {
  if (signal.aborted) return 'timed out';
  return err instanceof Error ? err.message || String((err as NodeJS.ErrnoException).code) : String(err);
}

let trusted: string[] | undefined;

/**
 * Node's bundled roots and the host's own trust store (/etc/ssl/certs, or SSL_CERT_FILE/DIR): an
 * internal mirror's CA is installed there, and Node alone would not trust it.
 */
export function trustedCAs(): string[] {
  trusted ??= [...new Set([...getCACertificates('default'), ...getCACertificates('system')])];
  return trusted;
}

/** How to reach `url`: with the trusted roots for https, and through `proxy` when given. */
function agentFor(url: URL, proxy: string | undefined): HttpAgent | HttpsAgent {
  const proxyEnv = proxy === undefined ? undefined : { HTTP_PROXY: proxy, HTTPS_PROXY: proxy };
  if (url.protocol === 'https:')
    return new HttpsAgent({ ca: trustedCAs(), ...(proxyEnv ? { proxyEnv } : {}) });
  return new HttpAgent(proxyEnv ? { proxyEnv } : {});
}

/**
 * One GET with node:http(s), not fetch: undici (Node 24's fetch) asserts and takes the process
 * down when a server closes the connection while the body is paused by a slow reader (python's
 * http.server does, after every answer).
 */
function getOnce(
  url: URL,
  signal: AbortSignal,
  proxy: string | undefined,
  idleMs: number | undefined,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const agent = agentFor(url, proxy);
    const req = send(url, { method: 'GET', signal, agent, headers: { 'user-agent': 'tskv-agent' } }, resolve);
    // The socket's idle timeout runs from its creation: it bounds connecting too.
    if (idleMs !== undefined) {
      req.setTimeout(idleMs, () => req.destroy(new Error(`no answer for ${idleMs / 1000} s`)));
    }
    req.on('error', reject);
    req.end();
  });
}

/** The scheme check every URL on the way passes: http(s) only, plain http only when allowed. */
function checkScheme(url: URL, allowHttp: boolean, what: string): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && allowHttp) return;
  throw downloadError(
    url.protocol === 'http:'
      ? `${what} ${url} is plain http, which is taken only for an inventory whose etcd.source is an http:// URL`
      : `${what} ${url} is not http(s)`,
  );
}

/** Where a redirect from `at` to `location` leads, refused when it leaves http(s) or goes from https to http. */
export function redirectTarget(at: URL, location: string, secure: boolean, allowHttp: boolean): URL {
  let next: URL;
  try {
    next = new URL(location, at);
  } catch {
    throw downloadError(`${at} redirects to an invalid URL`);
  }
  if (secure && next.protocol === 'http:') {
    throw downloadError(`refused the redirect from ${at} to ${next}: https must not become plain http`);
  }
  checkScheme(next, allowHttp, `refused the redirect from ${at} to`);
  return next;
}

/** The final 200 answer for `url`: redirects followed by hand, at most `max`, never from https to http. */
async function get(
  url: URL,
  allowHttp: boolean,
  max: number,
  signal: AbortSignal,
  proxy: string | undefined,
  idleMs?: number,
): Promise<IncomingMessage> {
  let at = url;
  let secure = at.protocol === 'https:';
  for (let hops = 0; ; hops++) {
    let res: IncomingMessage;
    try {
      res = await getOnce(at, signal, proxy, idleMs);
    } catch (err) {
      const via = proxy === undefined ? '' : ` through the proxy ${proxy}`;
      throw downloadError(`GET ${at}${via}: ${describeHttpError(err, signal)}`);
    }
    const status = res.statusCode ?? 0;
    if (status === 200) return res;
    res.destroy();
    if (!REDIRECTS.has(status)) throw downloadError(`HTTP ${status} from ${at}`);
    const location = res.headers.location;
    if (!location) throw downloadError(`HTTP ${status} from ${at} without a Location`);
    if (hops >= max) throw downloadError(`more than ${max} redirects (the last from ${at} to ${location})`);
    const next = redirectTarget(at, location, secure, allowHttp);
    secure ||= next.protocol === 'https:';
    at = next;
  }
}

/** Streams `res`'s body into `temp` (created, never reused): its sha256 and size, refused past `maxBytes`. */
async function save(res: IncomingMessage, temp: string, maxBytes: number, url: URL, signal: AbortSignal) {
  const declared = res.headers['content-length'];
  const length = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
  if (length !== undefined && length > maxBytes) {
    res.destroy();
    throw downloadError(`${url} is ${length} bytes, more than the ${maxBytes} taken`);
  }
  const hash = createHash('sha256');
  let size = 0;
  const file = await open(temp, 'wx', 0o644);
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw downloadError(`${url} sent more than the ${maxBytes} bytes taken`);
      hash.update(chunk);
      await file.write(chunk);
    }
    await file.sync();
  } catch (err) {
    res.destroy();
    if (err instanceof AgentError) throw err;
    throw downloadError(`reading ${url}: ${describeHttpError(err, signal)}`);
  } finally {
    await file.close();
  }
  if (length !== undefined && size !== length) {
    throw downloadError(
      `got ${size} bytes from ${url} where Content-Length said ${length} (a cut connection?)`,
    );
  }
  return { sha256: hash.digest('hex'), size };
}

/** The etcd fetch route (see agent/api/etcd-fetch.ts). `layout` and `limits` are for tests. */
export function makeEtcdFetch(
  layout: HostLayout = HOST_LAYOUT,
  limits: FetchLimits = LIMITS,
): Handler<typeof routes.etcdFetch> {
  return async ({
    url: raw,
    tarball,
    sha256,
    allowHttp,
    maxBytes,
    proxy,
    idleTimeoutSeconds,
    maxRedirects,
  }) => {
    await checkTarball(layout, tarball, sha256);
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new AgentError('E_AGENT_BAD_REQUEST', `url ${raw} is not a valid URL`, 400);
    }
    if (url.username || url.password) {
      throw new AgentError('E_AGENT_BAD_REQUEST', 'url must not carry a user or password', 400);
    }
    checkScheme(url, allowHttp === true, 'url');
    if ((await fileSha256(tarball)) === sha256) {
      const bytes = (await stat(tarball)).size;
      return { changed: false, actions: [], fetched: false, bytes, ms: 0 };
    }
    const dir = dirname(tarball);
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const temp = `${dir}/.${tarball.slice(dir.length + 1)}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
    const started = performance.now();
    try {
      const signal = AbortSignal.timeout(limits.timeoutMs);
      const idleMs = idleTimeoutSeconds === undefined ? undefined : idleTimeoutSeconds * 1000;
      const redirects = Math.min(limits.maxRedirects, maxRedirects ?? limits.maxRedirects);
      const res = await get(url, allowHttp === true, redirects, signal, proxy, idleMs);
      const got = await save(res, temp, maxBytes ?? ETCD_FETCH_MAX_BYTES, url, signal);
      if (got.sha256 !== sha256) {
        throw new AgentError(
          'E_AGENT_SHA256',
          `${url} sent ${got.size} bytes with sha256 ${got.sha256}, not the expected ${sha256}; nothing was kept`,
          422,
        );
      }
      await rename(temp, tarball);
      await syncDir(dir);
      const ms = Math.round(performance.now() - started);
      return {
        changed: true,
        actions: [
          `download ${url} into ${tarball} (${got.size} bytes in ${(ms / 1000).toFixed(1)} s, sha256 verified)`,
        ],
        fetched: true,
        bytes: got.size,
        ms,
      };
    } finally {
      await unlink(temp).catch(() => {});
    }
  };
}

export const etcdFetch = makeEtcdFetch();

import { z } from 'zod';
import { applyResultSchema } from './deploy.ts';
import { hostPath, sha256Hex } from './fields.ts';

/** The largest etcd tarball the agent downloads when the request names no smaller cap (official ones are 14-24 MB). */
export const ETCD_FETCH_MAX_BYTES = 256 * 1024 * 1024;
/** Redirects the agent follows from the URL it was given (release URLs redirect to their storage once or twice). */
export const ETCD_FETCH_MAX_REDIRECTS = 5;

/**
 * etcd fetch (inventory `etcd.fetch: host`): the host downloads the tarball itself into
 * UPLOAD_CACHE_DIR, where etcd install takes it from. The URL is https (http only with `allowHttp`,
 * which the controller sets when the inventory's own source is an http:// mirror); at most
 * ETCD_FETCH_MAX_REDIRECTS redirects, never from https to http; at most `maxBytes`; streamed to a
 * temporary file beside `tarball` and renamed there only once its sha256 is `sha256`. A `tarball`
 * already holding those bytes is not fetched again. https trusts Node's bundled roots and the
 * host's own trust store (an internal mirror's CA installed there). `proxy`: through that proxy.
 */
export const etcdFetchRequestSchema = z
  .object({
    url: z
      .string()
      .max(2048)
      .regex(/^https?:\/\/[^\s]+$/i, { message: 'must be an http(s) URL without whitespace' }),
    /** A file directly in UPLOAD_CACHE_DIR named by `sha256` (cache-name.ts), as etcd install takes. */
    tarball: hostPath,
    sha256: sha256Hex,
    allowHttp: z.boolean().optional(),
    maxBytes: z.number().int().min(1).max(ETCD_FETCH_MAX_BYTES).optional(),
    /** The proxy to download through: scheme, host and port only (no credentials, no path). */
    proxy: z
      .string()
      .max(300)
      .regex(/^https?:\/\/[^\s/@?#]+\/?$/i, { message: 'must be http(s)://host:port without credentials' })
      .optional(),
    /** Give up once the connection stays silent this long, connecting included (a relay between hosts: a few seconds). */
    idleTimeoutSeconds: z.number().int().min(1).max(300).optional(),
    /** Fewer redirects than ETCD_FETCH_MAX_REDIRECTS (a relay from another host: none). */
    maxRedirects: z.number().int().min(0).max(ETCD_FETCH_MAX_REDIRECTS).optional(),
  })
  .strict();

export const etcdFetchResponseSchema = applyResultSchema.extend({
  /** false: the cache already held these bytes. */
  fetched: z.boolean(),
  /** The tarball's size. */
  bytes: z.number().int().min(0),
  /** How long the download took (0 when nothing was fetched). */
  ms: z.number().int().min(0),
});

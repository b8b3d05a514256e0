import { z } from 'zod';
import { hostPath, sha256Hex } from './fields.ts';

/** The longest a relay offer stays open (its firewall rule carries the same timeout). */
export const RELAY_MAX_TTL_SECONDS = 300;

const ipv4 = z.string().regex(/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/, {
  message: 'must be an IPv4 address',
});

/**
 * relay offer: the agent serves one file it holds to one other host, once, so the controller's
 * link carries it once (controller/transfer/relay.ts). The file is named by kind, never by a free
 * path: `runtime` is the Node executable this agent runs on (in its install dir), `tarball` an etcd
 * tarball in UPLOAD_CACHE_DIR, named by its content (cache-name.ts), whose sha256 must be `sha256`. It is served over plain http on an
 * ephemeral port, at GET /<token> only, to connections from `to` only, for at most `ttlSeconds`;
 * with firewalld running a runtime-only rich rule lets `to` in on that port, with the same timeout.
 * ufw or nftables filtering: refused (E_AGENT_REFUSED), the controller pushes directly.
 */
export const relayOfferRequestSchema = z
  .object({
    file: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('runtime') }).strict(),
      z
        .object({
          kind: z.literal('tarball'),
          tarball: hostPath,
          sha256: sha256Hex,
        })
        .strict(),
    ]),
    to: ipv4,
    ttlSeconds: z.number().int().min(1).max(RELAY_MAX_TTL_SECONDS),
  })
  .strict();

export type RelayOfferRequest = z.infer<typeof relayOfferRequestSchema>;

export const relayOfferResponseSchema = z.object({
  port: z.number().int().min(1).max(65535),
  /** The one path served: GET /<token>. */
  token: z.string().regex(/^[0-9a-f]{32}$/),
  /** The file's size in bytes. */
  size: z.number().int().min(0),
  /** What let `to` in: a firewalld rich rule (with the offer's timeout), or nothing filters. */
  firewall: z.enum(['firewalld', 'none']),
});

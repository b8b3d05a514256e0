import { z } from 'zod';
import { cidr } from './cidr.ts';

export const firewallBackendSchema = z.enum(['firewalld', 'ufw', 'nftables', 'none']);
export type FirewallBackend = z.infer<typeof firewallBackendSchema>;

const port = z.number().int().min(1).max(65535);

/** Sources a port may be let in from: the members and `cluster.clientSources` (MAX_HOSTS 1000 + 256). */
export const MAX_FIREWALL_SOURCES = 2048;
const sources = z.array(cidr).min(1).max(MAX_FIREWALL_SOURCES);

const portSpec = z.object({
  port,
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
  /** TCP only: judge the port as let in from exactly these networks (tskv's rules with TLS on). */
  sources: sources.optional(),
});

/**
 * A TCP port let in only from these networks: each gets its own accept rule, then the port's
 * opening to every source is closed, and rules of the same kind for other sources are removed.
 */
export const restrictedPortSchema = z.object({ port, sources }).strict();
export type RestrictedPort = z.infer<typeof restrictedPortSchema>;

/**
 * Ports to let in (`firewallOpen`): `ports` from every source the firewall admits (tskv's way
 * before TLS), `restricted` only from theirs. A port appears once.
 */
export const firewallOpenRequestSchema = z
  .object({
    ports: z.array(port).max(64).default([]),
    restricted: z.array(restrictedPortSchema).max(64).default([]),
  })
  .strict()
  .superRefine((r, ctx) => {
    const all = [...r.ports, ...r.restricted.map((p) => p.port)];
    if (all.length === 0) ctx.addIssue({ code: 'custom', message: 'names no port' });
    const twice = all.find((p, i) => all.indexOf(p) !== i);
    if (twice !== undefined) ctx.addIssue({ code: 'custom', message: `names port ${twice} twice` });
  });
export type FirewallOpenRequest = z.infer<typeof firewallOpenRequestSchema>;

export const firewallStateRequestSchema = z
  .object({
    ports: z.array(portSpec).min(1).max(64),
  })
  .strict();

export const firewallPortStateSchema = z.object({
  port: z.number().int(),
  protocol: z.enum(['tcp', 'udp']),
  /** true: allowed in; false: blocked; null: the backend's rules could not be judged (see `detail`). */
  open: z.boolean().nullable(),
  /** Why: "port 2380/tcp in zone public", "service etcd-server in zone public", "no rule in zone public". */
  detail: z.string(),
  /**
   * firewalld only: whether the permanent configuration lets it in too (else a reload or reboot
   * closes it again, as after the seed's `firewall-cmd --add-port` without `--permanent`).
   */
  permanent: z.boolean().nullable().optional(),
  /**
   * Asked with `sources`: `open` and `permanent` say whether every one of them is let in; this
   * says how the firewall differs from letting in exactly them (tskv's kind of rules only).
   */
  sources: z
    .object({
      /** Sources without their own rule (now or in the saved configuration). */
      missing: z.array(z.string()),
      /** The port is open to every source by an entry tskv closes once the sources' rules are in. */
      openToAll: z.boolean(),
      /** Rules of tskv's kind for other sources (a member that left): tskv removes them. */
      stale: z.array(z.string()),
      /** What else lets every source in, which tskv leaves alone (a service, a port range, the zone's target). */
      wider: z.string().optional(),
    })
    .optional(),
});

export const firewallStateResponseSchema = z.object({
  backend: firewallBackendSchema,
  state: z.string(),
  /** firewalld: the zone the ports were judged in (the default zone). */
  zone: z.string().optional(),
  ports: z.array(firewallPortStateSchema),
});

export type FirewallStateRequest = z.input<typeof firewallStateRequestSchema>;
export type FirewallStateResponse = z.infer<typeof firewallStateResponseSchema>;
export type FirewallPortState = z.infer<typeof firewallPortStateSchema>;

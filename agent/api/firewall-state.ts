import { z } from 'zod';

export const firewallBackendSchema = z.enum(['firewalld', 'ufw', 'nftables', 'none']);
export type FirewallBackend = z.infer<typeof firewallBackendSchema>;

const portSpec = z.object({
  port: z.number().int().min(1).max(65535),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
});

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

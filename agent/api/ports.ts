import { z } from 'zod';

export const portsRequestSchema = z
  .object({
    ports: z.array(z.number().int().min(1).max(65535)).min(1).max(256),
  })
  .strict();

export const portListenerSchema = z.object({
  /** Local address as the kernel reports it ("0.0.0.0", "127.0.0.1", "::"). */
  address: z.string(),
  family: z.enum(['ipv4', 'ipv6']),
  /** The owning process, when it could be found (needs root for other users' processes). */
  pid: z.number().int().nullable(),
  command: z.string().nullable(),
});

export const portUsageSchema = z.object({
  port: z.number().int(),
  inUse: z.boolean(),
  listeners: z.array(portListenerSchema),
});

export const portsResponseSchema = z.object({
  ports: z.array(portUsageSchema),
});

export type PortsRequest = z.infer<typeof portsRequestSchema>;
export type PortsResponse = z.infer<typeof portsResponseSchema>;
export type PortUsage = z.infer<typeof portUsageSchema>;
export type PortListener = z.infer<typeof portListenerSchema>;

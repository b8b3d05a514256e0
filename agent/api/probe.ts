import { z } from 'zod';

const port = z.number().int().min(1).max(65535);

/** Start listening; the reply comes once the port is bound, the listener closes itself after `durationMs`. */
export const probeListenRequestSchema = z
  .object({
    /** Address to bind ("0.0.0.0", "::", or one of the host's addresses). */
    address: z.string().min(1),
    port,
    durationMs: z.number().int().min(1).max(600_000),
  })
  .strict();

export const probeListenResponseSchema = z.object({
  /** Hand it to /v1/probe/listen/result. */
  id: z.string(),
  address: z.string(),
  port: z.number().int(),
  /** Agent wall clock (ms) when the listener closes by itself. */
  closesAtMs: z.number(),
});

export const probeListenResultRequestSchema = z
  .object({
    id: z.string().min(1),
    /** Close the listener now (default true). */
    close: z.boolean().default(true),
  })
  .strict();

export const probeConnectionSchema = z.object({
  remoteAddress: z.string(),
  remotePort: z.number().int(),
  atMs: z.number(),
});

export const probeListenResultResponseSchema = z.object({
  id: z.string(),
  closed: z.boolean(),
  connections: z.array(probeConnectionSchema),
});

export const probeConnectRequestSchema = z
  .object({
    host: z.string().min(1),
    port,
    timeoutMs: z.number().int().min(1).max(60_000),
  })
  .strict();

export const probeConnectOutcomeSchema = z.enum(['ok', 'refused', 'timeout', 'unreachable', 'error']);

export const probeConnectResponseSchema = z.object({
  host: z.string(),
  port: z.number().int(),
  outcome: probeConnectOutcomeSchema,
  /** The errno name when the connect failed ("ECONNREFUSED", "EHOSTUNREACH", ...). */
  errno: z.string().optional(),
  message: z.string().optional(),
  elapsedMs: z.number(),
});

export type ProbeListenRequest = z.input<typeof probeListenRequestSchema>;
export type ProbeListenResponse = z.infer<typeof probeListenResponseSchema>;
export type ProbeListenResultResponse = z.infer<typeof probeListenResultResponseSchema>;
export type ProbeConnectRequest = z.input<typeof probeConnectRequestSchema>;
export type ProbeConnectResponse = z.infer<typeof probeConnectResponseSchema>;
export type ProbeConnectOutcome = z.infer<typeof probeConnectOutcomeSchema>;

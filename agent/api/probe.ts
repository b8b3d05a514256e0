import { z } from 'zod';
import { portUsageSchema } from './ports.ts';

const port = z.number().int().min(1).max(65535);

/** One probe listener, bound: it closes itself after the request's `durationMs`. */
export const probeListenResponseSchema = z.object({
  /** Hand it to /v1/probe/listen/results. */
  id: z.string(),
  address: z.string(),
  port: z.number().int(),
  /** Agent wall clock (ms) when the listener closes by itself. */
  closesAtMs: z.number(),
});

export const probeConnectionSchema = z.object({
  remoteAddress: z.string(),
  remotePort: z.number().int(),
  atMs: z.number(),
});

/** What one listener saw. */
export const probeListenResultResponseSchema = z.object({
  id: z.string(),
  closed: z.boolean(),
  connections: z.array(probeConnectionSchema),
});

export const probeConnectOutcomeSchema = z.enum(['ok', 'refused', 'timeout', 'unreachable', 'error']);

/** How one connect ended. */
export const probeConnectResponseSchema = z.object({
  host: z.string(),
  port: z.number().int(),
  outcome: probeConnectOutcomeSchema,
  /** The errno name when the connect failed ("ECONNREFUSED", "EHOSTUNREACH", ...). */
  errno: z.string().optional(),
  message: z.string().optional(),
  elapsedMs: z.number(),
});

/**
 * Listen on each of the given ports that nothing holds yet; a held port is reported, not an error.
 * The usage is read before listening, so the probe listeners never show up in it.
 */
export const probeListenFreeRequestSchema = z
  .object({
    /** Address to bind ("0.0.0.0", "::", or one of the host's addresses). */
    address: z.string().min(1),
    ports: z
      .array(port)
      .min(1)
      .max(64)
      .refine((ports) => new Set(ports).size === ports.length, 'ports must be distinct'),
    durationMs: z.number().int().min(1).max(600_000),
  })
  .strict();

export const probeListenFreeResponseSchema = z.object({
  /** Who held each port before listening, in request order (as /v1/ports reports it). */
  ports: z.array(portUsageSchema),
  /** One listener per port that was free; held ports have none. */
  listeners: z.array(probeListenResponseSchema),
});

/** Close several listeners at once and return what each saw. */
export const probeListenResultsRequestSchema = z
  .object({
    ids: z.array(z.string().min(1)).min(1).max(256),
    /** Close the listeners now (default true). */
    close: z.boolean().default(true),
  })
  .strict();

export const probeListenResultsResponseSchema = z.object({
  results: z.array(probeListenResultResponseSchema),
});

/** Connect to every target at once; one result per target, in request order. */
export const probeConnectManyRequestSchema = z
  .object({
    targets: z
      .array(z.object({ host: z.string().min(1), port }).strict())
      .min(1)
      .max(256),
    timeoutMs: z.number().int().min(1).max(60_000),
  })
  .strict();

export const probeConnectManyResponseSchema = z.object({
  results: z.array(probeConnectResponseSchema),
});

export type ProbeListenResponse = z.infer<typeof probeListenResponseSchema>;
export type ProbeListenResultResponse = z.infer<typeof probeListenResultResponseSchema>;
export type ProbeConnectResponse = z.infer<typeof probeConnectResponseSchema>;
export type ProbeConnectOutcome = z.infer<typeof probeConnectOutcomeSchema>;
export type ProbeListenFreeResponse = z.infer<typeof probeListenFreeResponseSchema>;
export type ProbeConnectManyRequest = z.input<typeof probeConnectManyRequestSchema>;
export type ProbeConnectManyResponse = z.infer<typeof probeConnectManyResponseSchema>;

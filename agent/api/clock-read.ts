import { z } from 'zod';

export const clockRequestSchema = z.object({}).strict();

/** The agent's wall clock when it handled the request, in ms since the epoch with sub-ms precision. */
export const clockResponseSchema = z.object({
  wallMs: z.number(),
});

export type ClockResponse = z.infer<typeof clockResponseSchema>;

import { z } from 'zod';

export const versionRequestSchema = z.object({}).strict();

export const versionResponseSchema = z.object({
  apiVersion: z.number().int(),
  buildId: z.string(),
  nodeVersion: z.string(),
  pid: z.number().int(),
});

export type VersionResponse = z.infer<typeof versionResponseSchema>;

/**
 * POST /v1/exit-when-idle: this agent exits as soon as its last connection closes, instead of after
 * its idle time (a dry run leaves no agent behind that it started itself).
 */
export const exitWhenIdleRequestSchema = z.object({}).strict();
export const exitWhenIdleResponseSchema = z.object({ exiting: z.literal(true) });

import { z } from 'zod';

export const versionRequestSchema = z.object({}).strict();

export const versionResponseSchema = z.object({
  apiVersion: z.number().int(),
  buildId: z.string(),
  nodeVersion: z.string(),
  pid: z.number().int(),
});

export type VersionResponse = z.infer<typeof versionResponseSchema>;

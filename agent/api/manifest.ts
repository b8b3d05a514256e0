import { z } from 'zod';

const compressedFileSchema = z.object({
  /** File name inside dist/agent/. */
  file: z.string(),
  encoding: z.enum(['zstd', 'gzip']),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int(),
});

/** dist/agent/manifest.json, written by scripts/build-agent.ts and read by the controller. */
export const agentManifestSchema = z.object({
  /** sha256 of the bundled agent JS, the Node version and the build recipe (first 16 hex digits). */
  buildId: z.string().regex(/^[0-9a-f]{16}$/),
  apiVersion: z.number().int(),
  nodeVersion: z.string(),
  /** The executable's file name inside dist/agent/. */
  file: z.string(),
  /** sha256 and size of the raw executable. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int(),
  /** What is sent over the wire: zstd (hosts with `zstd`) ... */
  compressed: compressedFileSchema,
  /** ... or gzip (every host has `gzip`). */
  fallback: compressedFileSchema,
});

export type AgentManifest = z.infer<typeof agentManifestSchema>;
export type CompressedAgentFile = z.infer<typeof compressedFileSchema>;

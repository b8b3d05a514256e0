import { z } from 'zod';

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/);

const compressedFileSchema = z.object({
  /** File name inside dist/agent/. */
  file: z.string(),
  encoding: z.enum(['zstd', 'gzip']),
  sha256: sha256Schema,
  size: z.number().int(),
});

/** One of the agent's two files: its name on the host and in dist/agent/, and how it travels. */
const agentFileSchema = z.object({
  /** The file's name inside dist/agent/ and in the host's install dir. */
  file: z.string().regex(/^(node|tskv-agent)-[0-9a-f]{16}$/),
  /** sha256 and size of the file itself (checked on the host once unpacked). */
  sha256: sha256Schema,
  size: z.number().int(),
  /** What is sent over the wire: zstd (hosts with `zstd`) ... */
  compressed: compressedFileSchema,
  /** ... or gzip (every host has `gzip`). */
  fallback: compressedFileSchema,
});

/**
 * dist/agent/manifest.json, written by scripts/build-agent.ts and read by the controller. The agent
 * is two files: the runtime (the pinned Node executable, `node-<first 16 hex of its sha256>`: one
 * per Node version, pushed once per host) and the code (the agent's CommonJS bundle,
 * `tskv-agent-<buildId>`: pushed when the build changes). The host runs `runtime code serve ...`.
 */
export const agentManifestSchema = z.object({
  /** sha256 of the bundled agent JS, the runtime's sha256 and the build recipe (first 16 hex digits). */
  buildId: z.string().regex(/^[0-9a-f]{16}$/),
  apiVersion: z.number().int(),
  nodeVersion: z.string(),
  runtime: agentFileSchema.extend({
    /** Debug symbols stripped (`strip` was there at build time). */
    stripped: z.boolean(),
  }),
  code: agentFileSchema,
});

export type AgentManifest = z.infer<typeof agentManifestSchema>;
export type AgentFile = z.infer<typeof agentFileSchema>;
export type CompressedAgentFile = z.infer<typeof compressedFileSchema>;

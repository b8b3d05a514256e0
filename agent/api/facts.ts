import { z } from 'zod';
import { hostPath } from './fields.ts';
import { firewallBackendSchema } from './firewall-state.ts';

export const factsRequestSchema = z
  .object({
    /** The etcd data dir from the inventory: free disk is measured there (or at its nearest existing parent). */
    dataDir: hostPath,
  })
  .strict();

export const osFactsSchema = z.object({
  /** `ID` from /etc/os-release ("debian"), or "unknown". */
  id: z.string(),
  versionId: z.string(),
  prettyName: z.string(),
});

export const diskFactsSchema = z.object({
  /** The path asked about. */
  path: z.string(),
  /** The nearest existing directory at or above `path`, where statfs was taken. */
  measuredAt: z.string(),
  freeBytes: z.number(),
  totalBytes: z.number(),
});

export const firewallFactsSchema = z.object({
  backend: firewallBackendSchema,
  /** Human-readable state: "running", "active", "inactive", ... */
  state: z.string(),
  /** firewalld only: the default zone. */
  defaultZone: z.string().optional(),
});

export const etcdFactsSchema = z.object({
  installed: z.object({ path: z.string(), version: z.string() }).nullable(),
  running: z.array(
    z.object({
      pid: z.number().int(),
      command: z.string(),
      /** TCP ports this process listens on. */
      listenPorts: z.array(z.number().int()),
      /** The user it runs as (a name, else its uid). */
      user: z.string(),
    }),
  ),
  dataDir: z.object({
    path: z.string(),
    exists: z.boolean(),
    /** The data dir holds a `member/` directory: an etcd member was bootstrapped here. */
    hasData: z.boolean(),
    /** Its owner and group as "user:group" (names, else numbers); null when it does not exist. */
    owner: z.string().nullable(),
    /** Its permission bits; null when it does not exist. */
    mode: z.number().int().nullable(),
  }),
  /**
   * The account etcd runs as: null where it does not exist yet (the agent creates it); `problem`
   * says why an existing one cannot run etcd (uid 0, not a system account).
   */
  account: z
    .object({ uid: z.number().int(), gid: z.number().int().nullable(), problem: z.string().optional() })
    .nullable(),
});

export const factsResponseSchema = z.object({
  hostname: z.string(),
  os: osFactsSchema,
  /** Node's names: "x64", "arm64". */
  arch: z.string(),
  kernel: z.string(),
  init: z.object({
    /** systemd is PID 1 and running (/run/systemd/system exists). */
    systemd: z.boolean(),
    /** The comm of PID 1 ("systemd", "sh", ...). */
    pid1: z.string(),
  }),
  disk: diskFactsSchema,
  firewall: firewallFactsSchema,
  etcd: etcdFactsSchema,
  isRoot: z.boolean(),
  /** The agent's wall clock when the facts were gathered (ms since the epoch, sub-ms precision). */
  clockMs: z.number(),
});

export type FactsRequest = z.infer<typeof factsRequestSchema>;
export type FactsResponse = z.infer<typeof factsResponseSchema>;

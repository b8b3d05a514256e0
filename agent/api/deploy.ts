import { z } from 'zod';
import { etcdVersion, fileMode, hostPath, ntpServer, sha256Hex } from './fields.ts';

/**
 * Routes that change a host (used by deploy/member/replace). Every apply re-checks state on the host,
 * is idempotent and answers `{ changed, actions }`: `actions` are human-readable lines ("open 2379/tcp in zone public (runtime+permanent)").
 */
export const applyResultSchema = z.object({
  changed: z.boolean(),
  actions: z.array(z.string()),
});
export type ApplyResult = z.infer<typeof applyResultSchema>;

/**
 * How a file's bytes travel as `content`: utf8 text, or base64 for a binary file (a DER
 * certificate revocation list). Base64 is canonical (what Node's encoder writes), so that two
 * contents are equal exactly when the bytes are.
 */
export const fileEncoding = z.enum(['utf8', 'base64']);
export type FileEncoding = z.infer<typeof fileEncoding>;

// files: atomic write (temp file in the same dir, fsync, rename), read
export const fileWriteRequestSchema = z
  .object({
    path: hostPath,
    content: z.string(),
    /** Absent: utf8. */
    encoding: fileEncoding.optional(),
    mode: fileMode.default(0o644),
    /**
     * The file's group (its owner is root): `etcd` for a file etcd may read (the env file), the
     * etcd account created first where it is missing. Absent: the group is left as a new file gets it.
     */
    group: z.literal('etcd').optional(),
  })
  .strict();
export const fileWriteResponseSchema = applyResultSchema.extend({
  /** Unified diff of old → new content ("" when unchanged). */
  diff: z.string(),
});
export const fileReadRequestSchema = z
  .object({ path: hostPath, /** Absent: utf8. */ encoding: fileEncoding.optional() })
  .strict();
export const fileReadResponseSchema = z.object({
  exists: z.boolean(),
  content: z.string(),
  /** Permission bits; null when the file does not exist. */
  mode: z.number().int().nullable(),
  /** Owner and group as "user:group" (names, else numbers); null when the file does not exist. */
  owner: z.string().nullable(),
});

// firewall: let ports in in the active backend, now and across reboots (request: firewall-state.ts)
export const firewallOpenResponseSchema = applyResultSchema;

/**
 * etcd install: unpack an official-layout tarball already uploaded to the host into
 * ETCD_INSTALL_ROOT/v<version> and link ETCD_BIN_DIR/{etcd,etcdctl,etcdutl} to its programs. The
 * tarball's bytes must hash to `sha256` before anything is unpacked (E_AGENT_SHA256 otherwise).
 */
export const etcdInstallRequestSchema = z
  .object({
    /**
     * A file directly in UPLOAD_CACHE_DIR named by its content (cache-name.ts:
     * etcd-v3.4.23-linux-amd64.0123456789abcdef.tar.gz, say): no other is taken.
     */
    tarball: hostPath,
    sha256: sha256Hex,
    version: etcdVersion,
    /**
     * false: unpack only, the links stay where they point (a rolling upgrade stages the new version
     * beside the one running, and each member's restart switches to it: etcdLink). Default true.
     */
    link: z.boolean().optional(),
  })
  .strict();
export const etcdInstallResponseSchema = applyResultSchema.extend({ binary: z.string() });

/**
 * etcd link: point ETCD_BIN_DIR/{etcd,etcdctl,etcdutl} at ETCD_INSTALL_ROOT/v<version>, which must
 * be installed already (a rolling upgrade's switch to the staged version, or back to the old one).
 */
export const etcdLinkRequestSchema = z.object({ version: etcdVersion }).strict();
export const etcdLinkResponseSchema = applyResultSchema.extend({ binary: z.string() });

/**
 * etcd as a service. With systemd (PID 1): the unit ETCD_UNIT (EnvironmentFile=ETCD_ENV_FILE).
 * Without it (containers, the lab): the agent's own supervisor (`tskv-agent supervise`), detached,
 * running `binary` with ETCD_ENV_FILE's variables, restarting it if it crashes (not after a clean
 * exit 0, which is how a removed member stops), logging to ETCD_LOG_FILE.
 * Either way etcd runs as ETCD_USER: before etcd starts, the account is created where missing and
 * the data dir (and WAL dir) the env file names is created or handed to it (etcd:etcd 0700); a
 * running etcd of another user (an older tskv's, as root) is stopped first, so a restart moves it.
 */
export const etcdServiceRequestSchema = z
  .object({
    /** install: the unit only (systemd: written when it differs, daemon-reload, enabled); nothing starts. */
    action: z.enum(['install', 'start', 'stop', 'restart', 'status']),
    /** Supervisor only: ETCD_BINARY (the default) or ETCD_INSTALL_ROOT/v<version>/etcd, no other program. */
    binary: hostPath.optional(),
    /**
     * systemd unit text to install (when systemd runs; checked, then ignored otherwise): only the
     * settings agent/policy/etcd-unit.ts allows, ExecStart= the etcd binary as above.
     */
    unit: z.string().optional(),
  })
  .strict();
export const etcdServiceResponseSchema = applyResultSchema.extend({
  manager: z.enum(['systemd', 'supervisor']),
  running: z.boolean(),
  pid: z.number().int().nullable(),
  /** When etcd started (agent wall clock ms), null if not running. */
  startedAtMs: z.number().nullable(),
  /** How often etcd was started again after its first start (crashes and restarts; systemd's NRestarts). */
  restarts: z.number().int().optional(),
  /** How etcd last ended ("exit 1", "killed by SIGKILL", "not started: ENOENT"; systemd: its Result, "exit-code, status 1"). */
  lastExit: z.string().max(200).optional(),
  /** systemd only: the unit's ActiveState (SubState), e.g. "active (running)", "failed (failed)". */
  unitState: z.string().max(100).optional(),
  /** Why the running etcd needs a restart to run what is installed and written (absent: it does not). */
  stale: z.string().optional(),
  /** The user the running etcd runs as (a name, else its uid); absent when it does not run. */
  user: z.string().optional(),
});

/** etcd's last log lines: the journal's under systemd, else ETCD_LOG_FILE's. */
export const etcdLogsRequestSchema = z
  .object({
    lines: z.number().int().min(1).max(2000).default(40),
  })
  .strict();
export const etcdLogsResponseSchema = z.object({
  lines: z.array(z.string()),
  /** The most severe line etcd logged among them, where the log has levels the lines do not show (the journal). */
  cause: z.string().optional(),
});

// data dirs are moved aside, never deleted
export const dataDirMoveAsideRequestSchema = z
  .object({
    path: hostPath,
    /** Only whether it could be moved (what is there, not a mount point...): nothing moves. */
    checkOnly: z.boolean().optional(),
  })
  .strict();
export const dataDirMoveAsideResponseSchema = applyResultSchema.extend({
  /** <path>.removed-<UTC timestamp>, or null when there was nothing to move. */
  movedTo: z.string().nullable(),
});

// clock: make the host's time service sync, or step it to the controller's clock
export const clockSyncRequestSchema = z
  .object({
    servers: z.array(ntpServer).default([]),
    /** Step the clock to this reading (controller's clock at send time + half the round trip). */
    stepToMs: z.number().optional(),
  })
  .strict();
export const clockSyncResponseSchema = applyResultSchema.extend({
  /** chrony, systemd-timesyncd, ntpd, or none. */
  service: z.string(),
});

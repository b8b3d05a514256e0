/**
 * The resident agent: one per build and SSH user on a host, started once and reused by every tskv
 * command until it has had no connection for its idle timeout. Its well-known socket lets the
 * controller reach it directly, without running anything on the host.
 */
import { routes, type VersionResponse } from '../../agent/api/index.ts';
import type { HostConnection } from '../connect/index.ts';
import { describeCause, InputError, TskvError } from '../errors.ts';
import { AgentClient } from './client.ts';

/** Where a host keeps the resident agent of one build for one SSH user. */
export interface ResidentPaths {
  runDir: string;
  buildId: string;
  /** `agent-<buildId>-<user>`: the socket directory's name, and the lock's and log's without suffix. */
  name: string;
  /** In a directory of its own (0700, owned by the SSH user when root comes through sudo). */
  socket: string;
  /** flock(1)ed by the start script: one start at a time per socket. */
  lock: string;
  /** The agent's stderr: one line per start and stop, and any crash. */
  log: string;
}

export const DEFAULT_IDLE_TIMEOUT_S = 600;
const IDLE_TIMEOUT_ENV = 'TSKV_AGENT_IDLE_TIMEOUT';

export function residentPaths(runDir: string, buildId: string, sshUser: string): ResidentPaths {
  const name = `agent-${buildId}-${sshUser}`;
  return {
    runDir,
    buildId,
    name,
    socket: `${runDir}/${name}/agent.sock`,
    lock: `${runDir}/${name}.lock`,
    log: `${runDir}/${name}.log`,
  };
}

/** Seconds a newly started agent waits without a connection before it exits ($TSKV_AGENT_IDLE_TIMEOUT). */
export function idleTimeoutSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[IDLE_TIMEOUT_ENV];
  if (raw === undefined || raw === '') return DEFAULT_IDLE_TIMEOUT_S;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    throw new InputError(`${IDLE_TIMEOUT_ENV} must be a whole number of seconds above 0, got '${raw}'`, {
      fix: `unset ${IDLE_TIMEOUT_ENV} (default ${DEFAULT_IDLE_TIMEOUT_S}) or set it to e.g. 60`,
    });
  }
  return n;
}

export type ResidentReach = { client: AgentClient; version: VersionResponse } | { unreachable: string };

/**
 * Ask the agent on `socket` for its version over a forwarded stream. Unreachable (no socket, a
 * stale one, no answer within `timeoutMs`) is an answer, not an error: the caller starts an agent.
 * A lost SSH connection is an error.
 */
export async function reachResident(
  conn: HostConnection,
  socket: string,
  timeoutMs: number,
): Promise<ResidentReach> {
  const client = new AgentClient({ host: conn.host, openStream: () => conn.openUnixSocket(socket) });
  try {
    const version = await client.call(routes.version, {}, { timeoutMs, step: 'agent: reach' });
    return { client, version };
  } catch (err) {
    await client.close();
    const cause = err instanceof TskvError && err.cause instanceof TskvError ? err.cause : err;
    if (cause instanceof TskvError && cause.code === 'E_SSH_LOST') throw cause;
    return { unreachable: describeCause(err) };
  }
}

/**
 * Make sure a host runs this controller's agent build, and connect to it:
 *   1. the resident agent of this build and SSH user answers on its well-known socket
 *      (resident.ts): use it, nothing runs on the host;
 *   2. else one command: if /var/lib/tskv/agent/tskv-agent-<buildId> is there with the right size,
 *      start it (it stays resident) and wait for its ready line; else say so (and whether zstd is
 *      there);
 *   3. only if missing: on the same channel, stream the compressed executable (zstd, else gzip) into
 *      the waiting script, which receives it whole, unpacks and checks it, removes older builds and
 *      starts it (start-script.ts): one round trip and the upload overlapped with the unpack;
 *   4. the API version and build id must match: a skew replaces the binary once.
 * The agent outlives the command: close() only closes this client's streams.
 */

import { join } from 'node:path';
import { type Duplex, Readable } from 'node:stream';
import {
  AGENT_API_VERSION,
  AGENT_INSTALL_DIR,
  type AgentManifest,
  TSKV_RUN_DIR,
} from '../../agent/api/index.ts';
import { fileBytes } from '../artifacts/file-bytes.ts';
import type { HostConnection } from '../connect/index.ts';
import { TskvError } from '../errors.ts';
import { shellQuote } from '../render/shell-quote.ts';
import { AgentClient } from './client.ts';
import { DEFAULT_AGENT_DIST, loadAgentBuild } from './manifest.ts';
import { idleTimeoutSeconds, type ResidentPaths, reachResident, residentPaths } from './resident.ts';
import { type AgentPayload, type AgentStart, startAgentProcess } from './start.ts';
import { agentBinaryPath } from './start-script.ts';

export interface EnsureAgentOptions {
  /** The SSH login user: each user has a resident agent of their own (its socket is theirs). */
  sshUser: string;
  /** The build to run; default: dist/agent/manifest.json of this checkout. */
  manifest?: AgentManifest;
  /** Where the manifest's files are (default dist/agent/). */
  distDir?: string;
  /** Where executables live on the host. */
  installDir?: string;
  /** Where the agent's socket directory is made on the host. */
  runDir?: string;
  /** How long the agent may take to print its ready line. Default 30 s. */
  readyTimeoutMs?: number;
  /** How long a started agent waits without a connection before it exits. Default: idleTimeoutSeconds(). */
  idleTimeoutS?: number;
}

export interface AgentHandle {
  client: AgentClient;
  /** The executable was uploaded during this call (false: the host had this build already). */
  uploaded: boolean;
  /** An agent process was started during this call (false: the resident one answered). */
  started: boolean;
  buildId: string;
  /** The agent's process id on the host. */
  pid: number;
  /** The agent's socket path on the host. */
  socket: string;
  /** Close the HTTP client's streams; the agent stays, and exits once idle. */
  close(): Promise<void>;
}

export const DEFAULT_INSTALL_DIR = AGENT_INSTALL_DIR;
export const DEFAULT_RUN_DIR = TSKV_RUN_DIR;

/**
 * The packed executable for a host (zstd, else gzip), opened before anything is sent: a missing
 * build is reported as such, not as a failed unpack.
 */
async function openPayload(
  host: string,
  manifest: AgentManifest,
  distDir: string,
  hasZstd: boolean,
): Promise<AgentPayload | TskvError> {
  const packed = hasZstd ? manifest.compressed : manifest.fallback;
  const source = join(distDir, packed.file);
  try {
    // Read once for all hosts. Never more than the manifest's size: the host reads exactly that many bytes.
    const data = Readable.from([(await fileBytes(source)).subarray(0, packed.size)], { objectMode: false });
    return { encoding: packed.encoding, size: packed.size, data, source };
  } catch (err) {
    return new TskvError(
      'E_AGENT_NOT_BUILT',
      `cannot read the agent build ${source}: ${(err as Error).message}`,
      {
        host,
        step: 'agent: install',
        fix: 'run `npm run build` to build the agent',
      },
    );
  }
}

/** How long the resident agent may take to answer before a start is tried. */
const REACH_TIMEOUT_MS = 3_000;
/** Once a start found another agent serving: it has just started, give it longer. */
const REACH_AGAIN_TIMEOUT_MS = 10_000;
/** Reach-or-start rounds: a lost start race, and a version skew, each cost one. */
const MAX_ATTEMPTS = 3;

/** The skew between the running agent and the build we meant to run, or null. */
function versionSkew(v: { apiVersion: number; buildId: string }, manifest: AgentManifest): string | null {
  if (v.apiVersion !== AGENT_API_VERSION) return `agent API ${v.apiVersion}, controller ${AGENT_API_VERSION}`;
  if (v.buildId !== manifest.buildId) return `agent build ${v.buildId}, expected ${manifest.buildId}`;
  return null;
}

interface StartRequest {
  manifest: AgentManifest;
  distDir: string;
  binary: string;
  resident: ResidentPaths;
  idleTimeoutS: number;
  readyTimeoutMs: number;
}

/** Run the start script; push the executable on its channel when the host lacks it. */
async function startOrInstall(
  conn: HostConnection,
  request: StartRequest,
): Promise<{ start: AgentStart; uploaded: boolean }> {
  const { manifest } = request;
  const found = await startAgentProcess(conn, {
    binary: request.binary,
    size: manifest.size,
    resident: request.resident,
    idleTimeoutS: request.idleTimeoutS,
    readyTimeoutMs: request.readyTimeoutMs,
  });
  if (!('missing' in found)) return { start: found, uploaded: false };
  const payload = await openPayload(conn.host, manifest, request.distDir, found.hasZstd);
  if (payload instanceof TskvError) {
    await found.skip();
    throw payload;
  }
  return { start: await found.install(payload), uploaded: true };
}

/** An agent that answered, or was started and said what it is. */
interface Candidate {
  client: AgentClient;
  version: { apiVersion: number; buildId: string; pid: number };
  started: boolean;
  uploaded: boolean;
}

/** The resident agent if it answers, else a started one; or: another start won the race. */
async function reachOrStart(
  conn: HostConnection,
  request: StartRequest,
  reachTimeoutMs: number,
): Promise<Candidate | { alreadyRunning: true; uploaded: boolean; unreachable: string }> {
  const { socket } = request.resident;
  const reached = await reachResident(conn, socket, reachTimeoutMs);
  if ('client' in reached) return { ...reached, started: false, uploaded: false };
  const { start, uploaded } = await startOrInstall(conn, request);
  if ('alreadyRunning' in start) return { alreadyRunning: true, uploaded, unreachable: reached.unreachable };
  const client = new AgentClient({ host: conn.host, openStream: () => conn.openUnixSocket(socket) });
  return { client, version: start, started: true, uploaded };
}

/**
 * The agent exits after its idle time without an open connection, and a command can go quiet for
 * longer (a confirmation prompt, a long wait on etcd), with no HTTP connection kept in between.
 * One idle stream, held for the command's lifetime, keeps it serving; it closes with the SSH
 * connection if this process dies. (The agent's HTTP server never times out a connection that
 * has not begun a request.)
 */
async function holdAgent(conn: HostConnection, socket: string): Promise<Duplex | undefined> {
  try {
    const stream = await conn.openUnixSocket(socket);
    stream.on('error', () => undefined);
    return stream;
  } catch {
    return undefined; // only a guard: calls still work, the agent just may idle out on a long pause
  }
}

export async function ensureAgent(conn: HostConnection, options: EnsureAgentOptions): Promise<AgentHandle> {
  const distDir = options.distDir ?? DEFAULT_AGENT_DIST;
  const manifest = options.manifest ?? (await loadAgentBuild(distDir)).manifest;
  const installDir = options.installDir ?? DEFAULT_INSTALL_DIR;
  const resident = residentPaths(options.runDir ?? DEFAULT_RUN_DIR, manifest.buildId, options.sshUser);
  const request: StartRequest = {
    manifest,
    distDir,
    binary: agentBinaryPath(installDir, manifest.buildId),
    resident,
    idleTimeoutS: options.idleTimeoutS ?? idleTimeoutSeconds(),
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
  };
  let uploaded = false;
  let skews = 0;
  let reachTimeoutMs = REACH_TIMEOUT_MS;
  let unreachable = '';
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const agent = await reachOrStart(conn, request, reachTimeoutMs);
    uploaded ||= agent.uploaded;
    if ('alreadyRunning' in agent) {
      // Another command started it while this one waited for the lock: reach that one.
      reachTimeoutMs = REACH_AGAIN_TIMEOUT_MS;
      unreachable = agent.unreachable;
      continue;
    }
    const skew = versionSkew(agent.version, manifest);
    if (skew === null) {
      const { client } = agent;
      const hold = await holdAgent(conn, resident.socket);
      return {
        client,
        uploaded,
        started: agent.started,
        buildId: manifest.buildId,
        pid: agent.version.pid,
        socket: resident.socket,
        close: async () => {
          hold?.destroy();
          await client.close();
        },
      };
    }
    await agent.client.close();
    if (++skews >= 2) {
      throw new TskvError('E_AGENT_VERSION', `version skew persists after replacing the agent: ${skew}`, {
        host: conn.host,
        step: 'agent: version',
      });
    }
    // The binary goes (the next start pushes it anew) and the mismatched agent loses its socket
    // (it exits once idle).
    await conn.exec(`rm -f ${shellQuote(request.binary)} ${shellQuote(resident.socket)}`, {
      step: 'agent: remove mismatched build',
    });
  }
  throw new TskvError(
    'E_AGENT_START',
    `an agent serves ${resident.socket} but does not answer: ${unreachable}`,
    {
      host: conn.host,
      step: 'agent: reach',
      fix: `see ${resident.log} on the host; remove the socket (rm -f ${resident.socket}) and the next command starts a new agent`,
    },
  );
}

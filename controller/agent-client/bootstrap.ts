/**
 * Make sure a host runs this controller's agent build, and connect to it:
 *   1. the resident agent of this build and SSH user answers on its well-known socket
 *      (resident.ts): use it, nothing runs on the host;
 *   2. else one command: if the runtime /var/lib/tskv/agent/node-<sha> and the code
 *      /var/lib/tskv/agent/tskv-agent-<buildId> are there with the right sizes, start it (it stays
 *      resident) and wait for its ready line; else say which are missing (and whether zstd is
 *      there);
 *   3. only then: on the same channel, stream what is missing, packed (zstd, else gzip), into the
 *      waiting script, which receives each whole, unpacks and checks it, removes older files and
 *      starts the agent (start-script.ts): one round trip. A new build on a host that has its
 *      runtime costs only the code (~0.2 MB zstd); a new Node costs the runtime (~34 MB) once;
 *   4. the API version and build id must match: a skew replaces the code once.
 * With relays on (controller/transfer/), a host lacking the runtime asks the run's relay board
 * first: it may fetch it from a host that has it (start-script.ts `runtime relay URL`) instead of
 * the controller's link; a failed relay leaves a note and the push follows on the same channel.
 * The agent outlives the command: close() only closes this client's streams.
 */

import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import {
  AGENT_API_VERSION,
  AGENT_INSTALL_DIR,
  type AgentFile,
  type AgentManifest,
  TSKV_RUN_DIR,
} from '../../agent/api/index.ts';
import { leaseFileBytes } from '../artifacts/file-bytes.ts';
import type { HostConnection } from '../connect/index.ts';
import { TskvError } from '../errors.ts';
import { shellQuote } from '../render/shell-quote.ts';
import { chunked, type TransferListener, TransferMeter } from '../run/transfer.ts';
import { agentSource, type HostRelay, relayFallbackNote, runtimeKey } from '../transfer/relay.ts';
import type { DirectClaim } from '../transfer/relay-board.ts';
import { AgentClient } from './client.ts';
import { DEFAULT_AGENT_DIST, loadAgentBuild } from './manifest.ts';
import { idleTimeoutSeconds, type ResidentPaths, reachResident, residentPaths } from './resident.ts';
import { type AgentMissing, type AgentPayload, type AgentStart, startAgentProcess } from './start.ts';
import { AGENT_FILE_KINDS, type AgentFileKind, agentFilePath, type HostAgentFile } from './start-script.ts';

export interface EnsureAgentOptions {
  /** The SSH login user: each user has a resident agent of their own (its socket is theirs). */
  sshUser: string;
  /** The build to run; default: dist/agent/manifest.json of this checkout. */
  manifest?: AgentManifest;
  /** Where the manifest's files are (default dist/agent/). */
  distDir?: string;
  /** Where the agent's files live on the host. */
  installDir?: string;
  /** Where the agent's socket directory is made on the host. */
  runDir?: string;
  /** How long the agent may take to print its ready line. Default 30 s. */
  readyTimeoutMs?: number;
  /** How long a started agent waits without a connection before it exits. Default: idleTimeoutSeconds(). */
  idleTimeoutS?: number;
  /** Told how each file of the agent moves to the host (run/transfer.ts). */
  onTransfer?: TransferListener;
  /** Relays of this run: a missing runtime may come from another host, and this host serves it once up. */
  relay?: HostRelay;
}

export interface AgentHandle {
  client: AgentClient;
  /** A file of the agent was uploaded during this call (false: the host had this build already). */
  uploaded: boolean;
  /** Bytes this call streamed to the host for the agent (0 when it had the build). */
  sentBytes: number;
  /** Which files were uploaded: the runtime, the code, both, or none. */
  sentFiles: AgentFileKind[];
  /** The host that relayed the runtime to this one, if one did. */
  runtimeFrom?: string;
  /** What the output should say about how the files came (a relay that failed, and why). */
  notes: string[];
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
 * One packed file of the build for a host (zstd, else gzip), opened before anything is sent: a
 * missing build is reported as such, not as a failed unpack.
 */
async function openPayload(
  host: string,
  kind: AgentFileKind,
  file: AgentFile,
  distDir: string,
  hasZstd: boolean,
  onTransfer: TransferListener | undefined,
): Promise<AgentPayload | TskvError> {
  const packed = hasZstd ? file.compressed : file.fallback;
  const source = join(distDir, packed.file);
  try {
    // Read once for all hosts, held until this host's copy has gone. Never more than the
    // manifest's size: the host reads exactly that many bytes.
    const lease = await leaseFileBytes(source);
    const data = chunked(lease.bytes.subarray(0, packed.size));
    data.once('close', () => lease.release());
    const meter = onTransfer && new TransferMeter(host, `agent ${kind}`, packed.size, onTransfer);
    return { kind, encoding: packed.encoding, size: packed.size, data, source, ...(meter ? { meter } : {}) };
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
  files: Record<AgentFileKind, HostAgentFile>;
  resident: ResidentPaths;
  idleTimeoutS: number;
  readyTimeoutMs: number;
  onTransfer: TransferListener | undefined;
  relay: HostRelay | undefined;
}

interface Sent {
  sentBytes: number;
  sentFiles: AgentFileKind[];
  runtimeFrom?: string;
  notes: string[];
  /** This host got the runtime directly for the relay board: settled once its agent is up (or not). */
  claim?: DirectClaim;
}

const NOTHING_SENT: Sent = { sentBytes: 0, sentFiles: [], notes: [] };

/**
 * For a host that lacks the runtime: which host relayed it ({from}), or the direct claim this host
 * holds on the board ({claim}), or a push after a failed relay ({}, with a note).
 */
async function relayRuntime(
  found: AgentMissing,
  relay: HostRelay,
  key: string,
  notes: string[],
): Promise<{ from?: string; claim?: DirectClaim }> {
  const claim = await relay.board.claim(key, relay.name);
  if (claim.role === 'direct') return { claim };
  let served = false;
  try {
    let url: string;
    try {
      url = await claim.from.offer(relay.address);
    } catch (err) {
      // The sender refused or did not answer: this host's channel is fine, the push goes on it.
      notes.push(relayFallbackNote('runtime', claim.from.name, (err as Error).message));
      return {};
    }
    // A failure of this host's own channel (no answer in time, a line out of place) is thrown:
    // nothing can be pushed on a channel that was killed.
    const r = await found.relayRuntime(url);
    served = r.ok;
    if (r.ok) return { from: claim.from.name };
    notes.push(relayFallbackNote('runtime', claim.from.name, r.reason));
    return {};
  } finally {
    claim.done(served);
  }
}

/** Run the start script; push what the host lacks of the build on its channel. */
async function startOrInstall(
  conn: HostConnection,
  request: StartRequest,
): Promise<{ start: AgentStart; sent: Sent }> {
  const { manifest } = request;
  const found = await startAgentProcess(conn, {
    runtime: request.files.runtime,
    code: request.files.code,
    resident: request.resident,
    idleTimeoutS: request.idleTimeoutS,
    readyTimeoutMs: request.readyTimeoutMs,
  });
  if (!('missing' in found)) return { start: found, sent: NOTHING_SENT };
  const notes: string[] = [];
  if (found.runtime && request.relay && !found.canFetch) {
    // It takes no part: the others need not wait for it to say so.
    request.relay.board.pass(runtimeKey(manifest.runtime.sha256), request.relay.name);
    notes.push(
      'note: runtime pushed directly: this host has no curl or wget (or no sha256sum) to fetch it from another host',
    );
  }
  const relayed =
    found.runtime && found.canFetch && request.relay
      ? await relayRuntime(found, request.relay, runtimeKey(manifest.runtime.sha256), notes)
      : {};
  try {
    const payloads: AgentPayload[] = [];
    for (const kind of AGENT_FILE_KINDS.filter((k) => found[k] && !(k === 'runtime' && relayed.from))) {
      const payload = await openPayload(
        conn.host,
        kind,
        manifest[kind],
        request.distDir,
        found.hasZstd,
        request.onTransfer,
      );
      if (payload instanceof TskvError) {
        for (const opened of payloads) opened.data.destroy();
        await found.skip();
        throw payload;
      }
      payloads.push(payload);
    }
    const sent: Sent = {
      sentBytes: payloads.reduce((sum, p) => sum + p.size, 0),
      sentFiles: payloads.map((p) => p.kind),
      ...(relayed.from ? { runtimeFrom: relayed.from } : {}),
      ...(relayed.claim ? { claim: relayed.claim } : {}),
      notes,
    };
    return { start: await found.install(payloads), sent };
  } catch (err) {
    relayed.claim?.failed();
    throw err;
  }
}

/** An agent that answered, or was started and said what it is. */
interface Candidate {
  client: AgentClient;
  version: { apiVersion: number; buildId: string; pid: number };
  started: boolean;
  sent: Sent;
}

/** The resident agent if it answers, else a started one; or: another start won the race. */
async function reachOrStart(
  conn: HostConnection,
  request: StartRequest,
  reachTimeoutMs: number,
): Promise<Candidate | { alreadyRunning: true; sent: Sent; unreachable: string }> {
  const { socket } = request.resident;
  const reached = await reachResident(conn, socket, reachTimeoutMs);
  if ('client' in reached) return { ...reached, started: false, sent: NOTHING_SENT };
  const { start, sent } = await startOrInstall(conn, request);
  if ('alreadyRunning' in start) return { alreadyRunning: true, sent, unreachable: reached.unreachable };
  const client = new AgentClient({ host: conn.host, openStream: () => conn.openUnixSocket(socket) });
  return { client, version: start, started: true, sent };
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

function hostFile(installDir: string, file: AgentFile): HostAgentFile {
  return { path: agentFilePath(installDir, file.file), size: file.size, sha256: file.sha256 };
}

export async function ensureAgent(conn: HostConnection, options: EnsureAgentOptions): Promise<AgentHandle> {
  const distDir = options.distDir ?? DEFAULT_AGENT_DIST;
  const manifest = options.manifest ?? (await loadAgentBuild(distDir)).manifest;
  const installDir = options.installDir ?? DEFAULT_INSTALL_DIR;
  const resident = residentPaths(options.runDir ?? DEFAULT_RUN_DIR, manifest.buildId, options.sshUser);
  const request: StartRequest = {
    manifest,
    distDir,
    files: {
      runtime: hostFile(installDir, manifest.runtime),
      code: hostFile(installDir, manifest.code),
    },
    resident,
    idleTimeoutS: options.idleTimeoutS ?? idleTimeoutSeconds(),
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    onTransfer: options.onTransfer,
    relay: options.relay,
  };
  const claims: DirectClaim[] = [];
  try {
    const handle = await reachAgent(conn, request, claims);
    // This host has the runtime now, and its agent can offer it: waiters may pull it from here.
    const relay = options.relay;
    if (relay)
      relay.board.add(
        runtimeKey(manifest.runtime.sha256),
        agentSource(relay.name, relay.address, handle.client, { kind: 'runtime' }),
      );
    for (const c of claims) c.landed();
    return handle;
  } finally {
    for (const c of claims) c.failed(); // no-op for those that landed
  }
}

async function reachAgent(
  conn: HostConnection,
  request: StartRequest,
  claims: DirectClaim[],
): Promise<AgentHandle> {
  const { manifest, resident } = request;
  let sentBytes = 0;
  const sentFiles: AgentFileKind[] = [];
  let runtimeFrom: string | undefined;
  const notes: string[] = [];
  let skews = 0;
  let reachTimeoutMs = REACH_TIMEOUT_MS;
  let unreachable = '';
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const agent = await reachOrStart(conn, request, reachTimeoutMs);
    sentBytes += agent.sent.sentBytes;
    sentFiles.push(...agent.sent.sentFiles);
    runtimeFrom ??= agent.sent.runtimeFrom;
    notes.push(...agent.sent.notes);
    if (agent.sent.claim) claims.push(agent.sent.claim);
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
        uploaded: sentFiles.length > 0,
        sentBytes,
        sentFiles,
        ...(runtimeFrom ? { runtimeFrom } : {}),
        notes,
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
    // The code goes (the next start pushes it anew; the runtime is named by its content) and the
    // mismatched agent loses its socket (it exits once idle).
    await conn.exec(`rm -f ${shellQuote(request.files.code.path)} ${shellQuote(resident.socket)}`, {
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

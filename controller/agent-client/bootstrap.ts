/**
 * Make sure a host runs this controller's agent build, and connect to it:
 *   1. one command: if /var/lib/tskv/agent/tskv-agent-<buildId> is there with the right size, start
 *      `tskv-agent serve` over the SSH connection and wait for its ready line; else say so (and
 *      whether zstd is there);
 *   2. only if missing: on the same channel, stream the compressed executable (zstd, else gzip) into
 *      the waiting script, which unpacks it as it arrives, checks it, removes older builds and
 *      starts it (start-script.ts): one round trip and the upload overlapped with the unpack;
 *   3. the ready line's API version and build id must match: a skew replaces the binary once.
 * The agent lives as long as its SSH channel: close() (or a dropped connection) ends it.
 */

import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_API_VERSION, type AgentManifest } from '../../agent/api/index.ts';
import { type HostConnection, shellQuote } from '../connect/index.ts';
import { TskvError } from '../errors.ts';
import { AgentClient } from './client.ts';
import { DEFAULT_AGENT_DIST, loadAgentBuild } from './manifest.ts';
import { type AgentPayload, type AgentReady, type StartedAgent, startAgentProcess } from './start.ts';
import { agentBinaryPath } from './start-script.ts';

export interface EnsureAgentOptions {
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
}

export interface AgentHandle {
  client: AgentClient;
  /** The executable was uploaded during this call (false: the host had this build already). */
  uploaded: boolean;
  buildId: string;
  /** The agent's socket path on the host. */
  socket: string;
  /** Close the HTTP client and the agent's SSH channel; the agent exits and removes its socket. */
  close(): Promise<void>;
}

export const DEFAULT_INSTALL_DIR = '/var/lib/tskv/agent';
export const DEFAULT_RUN_DIR = '/run/tskv';

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
    const file = await open(source);
    // Never more than the manifest's size: the host reads exactly that many bytes.
    const data = file.createReadStream({ end: packed.size - 1 });
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

/** The skew between the running agent (its ready line) and the build we meant to run, or null. */
function versionSkew(v: AgentReady, manifest: AgentManifest): string | null {
  if (v.apiVersion !== AGENT_API_VERSION) return `agent API ${v.apiVersion}, controller ${AGENT_API_VERSION}`;
  if (v.buildId !== manifest.buildId) return `agent build ${v.buildId}, expected ${manifest.buildId}`;
  return null;
}

export async function ensureAgent(
  conn: HostConnection,
  options: EnsureAgentOptions = {},
): Promise<AgentHandle> {
  const distDir = options.distDir ?? DEFAULT_AGENT_DIST;
  const manifest = options.manifest ?? (await loadAgentBuild(distDir)).manifest;
  const installDir = options.installDir ?? DEFAULT_INSTALL_DIR;
  const runDir = options.runDir ?? DEFAULT_RUN_DIR;
  const binary = agentBinaryPath(installDir, manifest.buildId);
  let uploaded = false;
  let skews = 0;
  for (;;) {
    const found = await startAgentProcess(conn, {
      binary,
      socket: `${runDir}/agent-${randomBytes(6).toString('hex')}/agent.sock`,
      ownerUid: undefined,
      readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
      ifInstalledWithSize: manifest.size,
    });
    let started: StartedAgent;
    if ('missing' in found) {
      const payload = await openPayload(conn.host, manifest, distDir, found.hasZstd);
      if (payload instanceof TskvError) {
        await found.skip();
        throw payload;
      }
      started = await found.install(payload);
      uploaded = true;
    } else {
      started = found;
    }
    const client = new AgentClient({
      host: conn.host,
      openStream: () => conn.openUnixSocket(started.socket),
    });
    const close = async () => {
      await client.close();
      await started.stop();
    };
    const skew = versionSkew(started.ready, manifest);
    if (skew === null) return { client, uploaded, buildId: manifest.buildId, socket: started.socket, close };
    await close();
    if (++skews >= 2) {
      throw new TskvError('E_AGENT_VERSION', `version skew persists after replacing the agent: ${skew}`, {
        host: conn.host,
        step: 'agent: version',
      });
    }
    await conn.exec(`rm -f ${shellQuote(binary)}`, { step: 'agent: remove mismatched build' });
  }
}

/**
 * Make sure a host runs this controller's agent build, and connect to it:
 *   1. one command: if /var/lib/tskv/agent/tskv-agent-<buildId> is there with the right size, start
 *      `tskv-agent serve` over the SSH connection and wait for its ready line; else say so (and
 *      whether zstd is there);
 *   2. only if missing: upload the compressed executable (zstd, else gzip), unpack and verify it on
 *      the host, remove older builds, and start it;
 *   3. the ready line's API version and build id must match: a skew replaces the binary once.
 * The agent lives as long as its SSH channel: close() (or a dropped connection) ends it.
 */

import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { AGENT_API_VERSION, type AgentManifest } from '../../agent/api/index.ts';
import { type HostConnection, shellQuote } from '../connect/index.ts';
import { TskvError } from '../errors.ts';
import { AgentClient } from './client.ts';
import { DEFAULT_AGENT_DIST, loadAgentBuild } from './manifest.ts';
import { type AgentReady, startAgentProcess } from './start.ts';

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

async function install(
  conn: HostConnection,
  manifest: AgentManifest,
  distDir: string,
  installDir: string,
  hasZstd: boolean,
): Promise<void> {
  const step = 'agent: install';
  const packed = hasZstd ? manifest.compressed : manifest.fallback;
  const ext = packed.encoding === 'zstd' ? 'zst' : 'gz';
  const remotePacked = `${installDir}/.tskv-agent-${manifest.buildId}.${ext}`;
  await conn.exec(`mkdir -p -m 0700 ${shellQuote(installDir)}`, { step });
  await conn.upload(createReadStream(join(distDir, packed.file)), remotePacked, {
    sha256: packed.sha256,
    mode: 0o600,
    step: `agent: upload ${(packed.size / 1e6).toFixed(1)} MB`,
  });
  const [p, tmp, bin] = [
    remotePacked,
    `${installDir}/.tskv-agent-${manifest.buildId}.tmp`,
    binaryPath(installDir, manifest),
  ].map(shellQuote);
  const unpack = packed.encoding === 'zstd' ? `zstd -d -q -f -o ${tmp} ${p}` : `gzip -dc ${p} > ${tmp}`;
  const script = [
    'set -e',
    `${unpack} || { rm -f ${p} ${tmp}; exit 3; }`,
    `rm -f ${p}`,
    // The packed file's sha256 was checked on upload and zstd/gzip check their own content
    // checksums while unpacking: hashing the 110 MB result again cost ~1 s of CPU per host.
    `[ "$(stat -c %s ${tmp})" = ${manifest.size} ] || { rm -f ${tmp}; echo "unpacked size differs from the build's ${manifest.size} bytes" >&2; exit 4; }`,
    `chmod 0755 ${tmp}`,
    `mv -f ${tmp} ${bin}`,
    // Older builds, and leftovers of interrupted installs.
    `find ${shellQuote(installDir)} -maxdepth 1 -type f -name 'tskv-agent-*' ! -name ${shellQuote(`tskv-agent-${manifest.buildId}`)} -delete`,
    `find ${shellQuote(installDir)} -maxdepth 1 -type f -name '.tskv-agent-*' -mmin +60 -delete`,
  ].join('\n');
  const r = await conn.exec(script, { step, timeoutMs: 120_000 });
  if (r.code !== 0) {
    throw new TskvError(
      'E_AGENT_INSTALL',
      `unpacking the agent failed (exit ${r.code}): ${r.stderr.trim()}`,
      {
        host: conn.host,
        step,
      },
    );
  }
}

function binaryPath(installDir: string, manifest: AgentManifest): string {
  return `${installDir}/tskv-agent-${manifest.buildId}`;
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
  const binary = binaryPath(installDir, manifest);
  let uploaded = false;
  let installs = 0;
  let skews = 0;
  for (;;) {
    const started = await startAgentProcess(conn, {
      binary,
      socket: `${runDir}/agent-${randomBytes(6).toString('hex')}/agent.sock`,
      ownerUid: undefined,
      readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
      ifInstalledWithSize: manifest.size,
    });
    if ('missing' in started) {
      if (installs >= 2) {
        throw new TskvError('E_AGENT_INSTALL', `${binary} is still missing after installing it`, {
          host: conn.host,
          step: 'agent: install',
        });
      }
      await install(conn, manifest, distDir, installDir, started.hasZstd);
      uploaded = true;
      installs++;
      continue;
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

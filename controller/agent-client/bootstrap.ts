/**
 * Make sure a host runs this controller's agent build, and connect to it:
 *   1. one command: is /var/lib/tskv/agent/tskv-agent-<buildId> there with the right size? is zstd there?
 *   2. only if not: upload the compressed executable (zstd, else gzip), unpack and verify it on the
 *      host, remove older builds;
 *   3. start `tskv-agent serve` over the SSH connection, wait for its ready line;
 *   4. check /v1/version: a different API version or build (version skew) replaces the binary once.
 * The agent lives as long as its SSH channel: close() (or a dropped connection) ends it.
 */

import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { AGENT_API_VERSION, type AgentManifest, routes } from '../../agent/api/index.ts';
import { type HostConnection, shellQuote } from '../connect/index.ts';
import { TskvError } from '../errors.ts';
import { AgentClient } from './client.ts';
import { DEFAULT_AGENT_DIST, loadAgentBuild } from './manifest.ts';
import { type StartedAgent, startAgentProcess } from './start.ts';

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

interface HostState {
  installed: boolean;
  hasZstd: boolean;
  /** The SSH user's uid when commands go through sudo (the socket is handed to it). */
  sudoUid: number | undefined;
}

async function inspectHost(
  conn: HostConnection,
  binary: string,
  size: number,
  installDir: string,
): Promise<HostState> {
  const b = shellQuote(binary);
  const script = [
    `mkdir -p -m 0700 ${shellQuote(installDir)}`,
    `if [ -f ${b} ] && [ "$(stat -c %s ${b})" = ${size} ]; then echo installed; else echo missing; fi`,
    'if command -v zstd >/dev/null 2>&1; then echo zstd; else echo nozstd; fi',
    'echo "uid=$SUDO_UID"',
  ].join('\n');
  const r = await conn.exec(script, { step: 'agent: inspect host', timeoutMs: 30_000 });
  if (r.code !== 0) {
    throw new TskvError('E_AGENT_INSTALL', `inspecting ${installDir} failed: ${r.stderr.trim()}`, {
      host: conn.host,
      step: 'agent: inspect host',
    });
  }
  const lines = r.stdout.split('\n').map((l) => l.trim());
  const uid = /^uid=(\d+)$/.exec(lines.find((l) => l.startsWith('uid=')) ?? '')?.[1];
  return {
    installed: lines.includes('installed'),
    hasZstd: lines.includes('zstd'),
    sudoUid: conn.viaSudo && uid !== undefined ? Number(uid) : undefined,
  };
}

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
    `echo "${manifest.sha256}  "${tmp} | sha256sum -c --status || { rm -f ${tmp}; echo "sha256 mismatch after unpacking" >&2; exit 4; }`,
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

/** The skew between the running agent and the build we meant to run, or null when they match. */
async function versionSkew(client: AgentClient, manifest: AgentManifest): Promise<string | null> {
  const v = await client.call(routes.version, {}, { step: 'agent: version' });
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
  for (let attempt = 1; ; attempt++) {
    const state = await inspectHost(conn, binary, manifest.size, installDir);
    if (!state.installed) {
      await install(conn, manifest, distDir, installDir, state.hasZstd);
      uploaded = true;
    }
    const started: StartedAgent = await startAgentProcess(conn, {
      binary,
      socket: `${runDir}/agent-${randomBytes(6).toString('hex')}/agent.sock`,
      ownerUid: state.sudoUid,
      readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    });
    const client = new AgentClient({
      host: conn.host,
      openStream: () => conn.openUnixSocket(started.socket),
    });
    const close = async () => {
      await client.close();
      await started.stop();
    };
    let skew: string | null;
    try {
      skew = await versionSkew(client, manifest);
    } catch (err) {
      await close();
      throw err;
    }
    if (skew === null) return { client, uploaded, buildId: manifest.buildId, socket: started.socket, close };
    await close();
    if (attempt >= 2) {
      throw new TskvError('E_AGENT_VERSION', `version skew persists after replacing the agent: ${skew}`, {
        host: conn.host,
        step: 'agent: version',
      });
    }
    await conn.exec(`rm -f ${shellQuote(binary)}`, { step: 'agent: remove mismatched build' });
  }
}

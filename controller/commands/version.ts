import { readFile } from 'node:fs/promises';
import { loadAgentBuild } from '../agent-client/manifest.ts';
import { InputError } from '../errors.ts';
import { parseCommandArgs } from './args.ts';
import type { Command } from './types.ts';

const usage = `usage: tskv version [--json]

Prints tskv's version, the build of the agent it pushes to hosts (dist/agent, made by npm run build)
and the Node version running it. Also: tskv --version.
  --json   one document on stdout`;

/** This checkout's package.json (two folders up, from the sources and from the bundle alike). */
const PACKAGE_JSON = new URL('../../package.json', import.meta.url);

export interface VersionInfo {
  tskv: string;
  /** The built agent's id, or null when it is not built. */
  agentBuild: string | null;
  agentApi: number | null;
  node: string;
}

export async function versionInfo(): Promise<VersionInfo> {
  let tskv = 'unknown';
  try {
    tskv = String((JSON.parse(await readFile(PACKAGE_JSON, 'utf8')) as { version?: unknown }).version);
  } catch {
    // a copy without its package.json still says the rest
  }
  const build = await loadAgentBuild().catch(() => undefined);
  return {
    tskv,
    agentBuild: build?.manifest.buildId ?? null,
    agentApi: build?.manifest.apiVersion ?? null,
    node: process.version,
  };
}

export function formatVersion(v: VersionInfo): string {
  const agent =
    v.agentBuild === null
      ? 'agent not built (npm run build)'
      : `agent build ${v.agentBuild} (API ${v.agentApi})`;
  return `tskv ${v.tskv}\n${agent}\nnode ${v.node}\n`;
}

const version: Command = {
  summary: "print tskv's version, the agent build and the Node version",
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } }, usage);
    if (positionals.length > 0) throw new InputError(`unexpected argument '${positionals[0]}'\n${usage}`);
    const info = await versionInfo();
    process.stdout.write(values.json ? `${JSON.stringify(info, null, 2)}\n` : formatVersion(info));
    return 0;
  },
};

export default version;

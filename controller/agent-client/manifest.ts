import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AGENT_API_VERSION, type AgentManifest, agentManifestSchema } from '../../agent/api/index.ts';
import { TskvError } from '../errors.ts';

/** dist/agent/ of this checkout, where `npm run build` puts the agent executable and its manifest. */
export const DEFAULT_AGENT_DIST = new URL('../../dist/agent/', import.meta.url).pathname;

export interface LocalAgentBuild {
  manifest: AgentManifest;
  /** Directory holding the manifest's files. */
  dir: string;
}

const cache = new Map<string, Promise<LocalAgentBuild>>();

async function load(dir: string): Promise<LocalAgentBuild> {
  const fix = 'run `npm run build` to build the agent';
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch {
    throw new TskvError('E_AGENT_NOT_BUILT', `the agent is not built (no ${join(dir, 'manifest.json')})`, {
      fix,
    });
  }
  const parsed = agentManifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new TskvError('E_AGENT_NOT_BUILT', `${dir}manifest.json is not a tskv agent manifest`, { fix });
  if (parsed.data.apiVersion !== AGENT_API_VERSION) {
    throw new TskvError(
      'E_AGENT_NOT_BUILT',
      `the built agent speaks API ${parsed.data.apiVersion}, this controller ${AGENT_API_VERSION}`,
      { fix },
    );
  }
  return { manifest: parsed.data, dir };
}

/** The built agent's manifest (read once per directory and process). */
export function loadAgentBuild(dir = DEFAULT_AGENT_DIST): Promise<LocalAgentBuild> {
  let p = cache.get(dir);
  if (!p) {
    p = load(dir);
    p.catch(() => cache.delete(dir));
    cache.set(dir, p);
  }
  return p;
}

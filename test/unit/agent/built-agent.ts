import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentManifest } from '../../../agent/api/index.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
export const DIST = join(ROOT, 'dist/agent');

/** Run `npm run build`'s script (seconds the first time, a no-op when sources are unchanged). */
export function buildAgent(): AgentManifest {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build-agent.ts')], { stdio: 'pipe' });
  return JSON.parse(readFileSync(join(DIST, 'manifest.json'), 'utf8')) as AgentManifest;
}

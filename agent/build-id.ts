import { getAsset, isSea } from 'node:sea';

/** The asset name under which scripts/build-agent.ts stores the build id in the executable. */
export const BUILD_ID_ASSET = 'build-id';

/** The build id baked into the executable; "dev" (or $TSKV_AGENT_BUILD_ID) when run from source. */
export function buildId(): string {
  if (isSea()) return getAsset(BUILD_ID_ASSET, 'utf8').trim();
  return process.env['TSKV_AGENT_BUILD_ID'] || 'dev';
}

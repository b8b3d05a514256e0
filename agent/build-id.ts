/**
 * The global that scripts/build-agent.ts sets on the first line of the agent's code file
 * (`globalThis.TSKV_AGENT_BUILD_ID = "<buildId>";`), before any module runs.
 */
export const BUILD_ID_GLOBAL = 'TSKV_AGENT_BUILD_ID';

/** The build id the code file was built with; "dev" (or $TSKV_AGENT_BUILD_ID) when run from source. */
export function buildId(): string {
  const built = (globalThis as Record<string, unknown>)[BUILD_ID_GLOBAL];
  if (typeof built === 'string' && built !== '') return built;
  return process.env['TSKV_AGENT_BUILD_ID'] || 'dev';
}

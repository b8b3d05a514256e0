/**
 * The survivor's env file with and without --force-new-cluster. The flag rewrites the member list
 * to the member alone on every start it sees, so it is added for one start and taken out at once.
 * Pure.
 */
import { envFileValue } from './config.ts';

export const FORCE_NEW_CLUSTER_VAR = 'ETCD_FORCE_NEW_CLUSTER';

const forceLine = (line: string) => line.startsWith(`${FORCE_NEW_CLUSTER_VAR}=`);

/** The env file says --force-new-cluster (as etcd would read it). */
export function hasForceNewCluster(env: string | undefined): boolean {
  return envFileValue(env, FORCE_NEW_CLUSTER_VAR) === 'true';
}

/** The env file without the flag: exactly what it was before withForceNewCluster. */
export function withoutForceNewCluster(env: string): string {
  const lines = env.split('\n');
  const kept = lines.filter((l) => !forceLine(l));
  return kept.length === lines.length ? env : kept.join('\n');
}

/** The env file with the flag as its last setting (once, whatever was there). */
export function withForceNewCluster(env: string): string {
  const base = withoutForceNewCluster(env);
  return `${base}${base === '' || base.endsWith('\n') ? '' : '\n'}${FORCE_NEW_CLUSTER_VAR}="true"\n`;
}

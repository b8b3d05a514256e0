/** Each member's env file (and systemd unit) as the inventory wants it, compared with what the host has. Pure. */
import { ETCD_UNIT_FILE, parseEnvFile, unifiedDiff } from '../../agent/api/index.ts';
import type { Inventory } from '../inventory/model.ts';
import { renderHost } from '../render/render.ts';
import { type ClusterState, ETCD_ENV_FILE } from '../render/settings.ts';

export { ETCD_UNIT_FILE };

export interface DesiredConfig {
  env: string;
  /** Only where systemd runs. */
  unit: string | undefined;
  state: ClusterState;
}

/** One variable of an env file as etcd gets it (systemd's reading, as the agent's), or undefined. */
export function envFileValue(content: string | undefined, name: string): string | undefined {
  if (content === undefined) return undefined;
  try {
    return parseEnvFile(content)[name];
  } catch {
    return undefined; // a file systemd would refuse: nothing in it counts
  }
}

/** The --initial-cluster-state an existing env file was written with (etcd reads it only on an empty data dir). */
export function envFileState(content: string | undefined): ClusterState | undefined {
  const state = envFileValue(content, 'ETCD_INITIAL_CLUSTER_STATE');
  return state === 'new' || state === 'existing' ? state : undefined;
}

/**
 * Which state to write. A member keeps the state its file already has, so a converged member's file
 * never changes; a new file says `new` when the cluster is being bootstrapped or the member has
 * never started (it is one of the static bootstrap's members), else `existing`.
 */
export function chooseState(
  current: string | undefined,
  bootstrapping: boolean,
  memberStarted: boolean,
): ClusterState {
  return envFileState(current) ?? (bootstrapping || !memberStarted ? 'new' : 'existing');
}

export function desiredConfig(
  inv: Inventory,
  host: string,
  state: ClusterState,
  systemd: boolean,
): DesiredConfig {
  return {
    env: renderHost(inv, host, 'env', { state }),
    unit: systemd ? renderHost(inv, host, 'systemd') : undefined,
    state,
  };
}

export interface FileChange {
  title: string;
  diff: string;
}

/** The env file's and the unit's changes (each absent when the host already has it). */
export function planConfig(
  desired: DesiredConfig,
  currentEnv: string | undefined,
  currentUnit: string | undefined,
): { env?: FileChange; unit?: FileChange } {
  return {
    ...(currentEnv !== desired.env
      ? {
          env: {
            title: `${currentEnv === undefined ? 'write' : 'update'} ${ETCD_ENV_FILE}`,
            diff: unifiedDiff(currentEnv, desired.env, ETCD_ENV_FILE),
          },
        }
      : {}),
    ...(desired.unit !== undefined && currentUnit !== desired.unit
      ? {
          unit: {
            title: `${currentUnit === undefined ? 'install' : 'update'} ${ETCD_UNIT_FILE}`,
            diff: unifiedDiff(currentUnit, desired.unit, ETCD_UNIT_FILE),
          },
        }
      : {}),
  };
}

/**
 * A member with data ignores every ETCD_INITIAL_* setting (they only bootstrap an empty data dir).
 * Its file keeps the ones it has, so a membership change elsewhere (a replaced peer changes the
 * rendered --initial-cluster) neither rewrites the file nor restarts the member.
 */
export function keepInitialSettings(desired: DesiredConfig, current: string | undefined): DesiredConfig {
  if (current === undefined) return desired;
  const have = new Map(
    current
      .split('\n')
      .filter((l) => l.startsWith('ETCD_INITIAL_'))
      .map((l) => [l.slice(0, l.indexOf('=')), l]),
  );
  const env = desired.env
    .split('\n')
    .map((l) => (l.startsWith('ETCD_INITIAL_') ? (have.get(l.slice(0, l.indexOf('='))) ?? l) : l))
    .join('\n');
  return { ...desired, env };
}

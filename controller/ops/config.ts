/** Each member's env file (and systemd unit) as the inventory wants it, compared with what the host has. Pure. */
import {
  ETCD_ENV_MODE,
  ETCD_GROUP,
  ETCD_UNIT_FILE,
  parseEnvFile,
  unifiedDiff,
} from '../../agent/api/index.ts';
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
  tlsStage?: 'dual',
): DesiredConfig {
  return {
    env: renderHost(inv, host, 'env', { state, ...(tlsStage ? { tlsStage } : {}) }),
    unit: systemd ? renderHost(inv, host, 'systemd') : undefined,
    state,
  };
}

export interface FileChange {
  title: string;
  diff: string;
  /** Only the file's mode or owner changes: etcd reads the same settings, nothing restarts. */
  accessOnly?: true;
}

/** The env file's mode and owner as the agent reads them. */
export interface FileAccess {
  mode: number | null;
  owner: string | null;
}

/** Who may read the env file: root, and the etcd group (0640 root:etcd). */
export const ENV_FILE_OWNER = `root:${ETCD_GROUP}`;
const octal = (mode: number) => `0${mode.toString(8)}`;

/** The env file's mode and owner when they are not right: "0640 root:etcd (was 0644 root:root)", else undefined. */
function envAccessChange(access: FileAccess | undefined): string | undefined {
  if (!access || (access.mode === ETCD_ENV_MODE && access.owner === ENV_FILE_OWNER)) return undefined;
  const was = [access.mode === null ? '' : octal(access.mode), access.owner ?? ''].filter(Boolean).join(' ');
  return `${octal(ETCD_ENV_MODE)} ${ENV_FILE_OWNER}${was ? ` (was ${was})` : ''}`;
}

/**
 * The env file's and the unit's changes (each absent when the host already has it). The env file
 * also changes when it is not 0640 root:etcd (`envAccess`: as the host has it; an older tskv
 * wrote it 0644 root:root).
 */
export function planConfig(
  desired: DesiredConfig,
  currentEnv: string | undefined,
  currentUnit: string | undefined,
  envAccess?: FileAccess,
): { env?: FileChange; unit?: FileChange } {
  const access = currentEnv === undefined ? undefined : envAccessChange(envAccess);
  return {
    ...(currentEnv !== desired.env
      ? {
          env: {
            title: `${currentEnv === undefined ? 'write' : 'update'} ${ETCD_ENV_FILE}${access ? `, ${access}` : ''}`,
            diff: unifiedDiff(currentEnv, desired.env, ETCD_ENV_FILE),
          },
        }
      : access
        ? {
            env: {
              title: `set ${ETCD_ENV_FILE} to ${access} (readable by root and etcd only)`,
              diff: '',
              accessOnly: true,
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

import {
  ETCD_BIN_DIR,
  ETCD_CONFIG_DIR,
  ETCD_ENV_FILE,
  ETCD_INSTALL_ROOT,
  ETCD_LOG_FILE,
  ETCD_UNIT_FILE,
  TSKV_LIB_DIR,
  TSKV_RUN_DIR,
  TSKV_SNAPSHOT_DIR,
  UPLOAD_CACHE_DIR,
} from '../api/index.ts';

/**
 * The host paths the agent's rules are about (agent/api/paths.ts on a host). Handlers take a
 * layout so that tests can put the whole "host" under a temporary folder (layoutUnder).
 */
export interface HostLayout {
  /** etcd's configuration folder: the only place the file routes write. */
  configDir: string;
  envFile: string;
  unitFile: string;
  /** Where etcd versions are unpacked: <installRoot>/v<version>/etcd. */
  installRoot: string;
  /** Where etcd, etcdctl and etcdutl are linked: <binDir>/etcd is the etcd tskv runs. */
  binDir: string;
  logFile: string;
  libDir: string;
  /** The only place etcd install takes a tarball from. */
  uploadCacheDir: string;
  runDir: string;
  /** Where snapshots of the member's data go. */
  snapshotDir: string;
}

export const HOST_LAYOUT: HostLayout = {
  configDir: ETCD_CONFIG_DIR,
  envFile: ETCD_ENV_FILE,
  unitFile: ETCD_UNIT_FILE,
  installRoot: ETCD_INSTALL_ROOT,
  binDir: ETCD_BIN_DIR,
  logFile: ETCD_LOG_FILE,
  libDir: TSKV_LIB_DIR,
  uploadCacheDir: UPLOAD_CACHE_DIR,
  runDir: TSKV_RUN_DIR,
  snapshotDir: TSKV_SNAPSHOT_DIR,
};

/** The host's layout moved under `root` (an absolute, normalised folder): for tests. */
export function layoutUnder(root: string): HostLayout {
  return Object.fromEntries(
    Object.entries(HOST_LAYOUT).map(([key, path]) => [key, `${root}${path}`]),
  ) as unknown as HostLayout;
}

/** The etcd program tskv links and runs: <binDir>/etcd. */
export function etcdBinary(layout: HostLayout): string {
  return `${layout.binDir}/etcd`;
}

/** Whether `path` is `dir` or inside it (both normalised). */
export function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

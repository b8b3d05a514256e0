/**
 * Every place tskv puts something on a host, spelled once: the agent and the controller both
 * import these (the data dir is the inventory's, default in controller/inventory/normalise.ts).
 */

/** etcd's settings as ETCD_* variables: the systemd unit's EnvironmentFile, or the supervisor's. */
export const ETCD_ENV_FILE = '/etc/etcd/etcd.env';

/** The systemd unit that runs etcd where systemd is PID 1. */
export const ETCD_UNIT = 'etcd.service';
export const ETCD_UNIT_FILE = `/etc/systemd/system/${ETCD_UNIT}`;

/** Where etcd versions are unpacked: <root>/v<version>/{etcd,etcdctl,etcdutl?}. */
export const ETCD_INSTALL_ROOT = '/opt/tskv/etcd';
/** Where etcd, etcdctl (and etcdutl) are linked to the installed version's programs. */
export const ETCD_BIN_DIR = '/usr/local/bin';
export const ETCD_BINARY = `${ETCD_BIN_DIR}/etcd`;

/** etcd's output where the agent's supervisor runs it (under systemd it goes to the journal). */
export const ETCD_LOG_FILE = '/var/log/tskv/etcd.log';

/** Lasts until reboot: the resident agents' sockets, locks and logs, the supervisor's pid and state. */
export const TSKV_RUN_DIR = '/run/tskv';

/** tskv's own files that last. */
export const TSKV_LIB_DIR = '/var/lib/tskv';
/** The agent executables, one per build (tskv-agent-<buildId>). */
export const AGENT_INSTALL_DIR = `${TSKV_LIB_DIR}/agent`;
/** What the controller uploads for the agent to use (the etcd release tarballs). */
export const UPLOAD_CACHE_DIR = `${TSKV_LIB_DIR}/cache`;

/** The nftables rules that open etcd's ports across reboots, included from the boot configuration. */
export const NFT_TSKV_RULES = '/etc/tskv/nftables-etcd.nft';

/**
 * The cluster lock every changing command holds on each host (flock; /run: a reboot frees it), and
 * the record of who holds it. The supervisor's launch lock keeps two supervisors from starting.
 */
export const CLUSTER_LOCK_FILE = `${TSKV_RUN_DIR}/cluster.lock`;
export const CLUSTER_LOCK_OWNER_FILE = `${TSKV_RUN_DIR}/cluster.lock.json`;
export const SUPERVISOR_LOCK_FILE = `${TSKV_RUN_DIR}/etcd-supervisor.lock`;

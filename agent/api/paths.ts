/**
 * Every place tskv puts something on a host, spelled once: the agent and the controller both
 * import these (the data dir is the inventory's, default in controller/inventory/normalise.ts).
 */

/** etcd's configuration: the env file, later its TLS material. The file routes write only here. */
export const ETCD_CONFIG_DIR = '/etc/etcd';
/** etcd's settings as ETCD_* variables: the systemd unit's EnvironmentFile, or the supervisor's. */
export const ETCD_ENV_FILE = `${ETCD_CONFIG_DIR}/etcd.env`;

/**
 * The system account etcd runs as (never root): created by the agent where it is missing
 * (`useradd --system`, no login shell, home ETCD_HOME not created). Its data dir is etcd:etcd 0700,
 * the env file root:etcd 0640.
 */
export const ETCD_USER = 'etcd';
export const ETCD_GROUP = 'etcd';
export const ETCD_HOME = '/var/lib/etcd';
/** The env file's mode (root:ETCD_GROUP): readable by root and etcd only. */
export const ETCD_ENV_MODE = 0o640;
/** A data dir's (and WAL dir's) mode, owned ETCD_USER:ETCD_GROUP. */
export const ETCD_DATA_MODE = 0o700;

/**
 * A member's TLS material (tls.mode auto): the CA certificates it trusts, its server and peer
 * certificates and keys, and the list of revoked certificates (DER: etcd 3.6 reads no PEM there),
 * each root:ETCD_GROUP ETCD_PKI_MODE (the keys never readable by anyone but etcd and root). The
 * file routes write nothing else in ETCD_PKI_DIR.
 */
export const ETCD_PKI_DIR = `${ETCD_CONFIG_DIR}/pki`;
export const ETCD_PKI_FILES = {
  ca: `${ETCD_PKI_DIR}/ca.crt`,
  serverCert: `${ETCD_PKI_DIR}/server.crt`,
  serverKey: `${ETCD_PKI_DIR}/server.key`,
  peerCert: `${ETCD_PKI_DIR}/peer.crt`,
  peerKey: `${ETCD_PKI_DIR}/peer.key`,
  crl: `${ETCD_PKI_DIR}/crl.der`,
} as const;
export const ETCD_PKI_MODE = 0o640;

/** The systemd unit that runs etcd where systemd is PID 1. */
export const ETCD_UNIT = 'etcd.service';
export const ETCD_UNIT_FILE = `/etc/systemd/system/${ETCD_UNIT}`;

/** Where etcd versions are unpacked: <root>/v<version>/{etcd,etcdctl,etcdutl?}. */
export const ETCD_INSTALL_ROOT = '/opt/tskv/etcd';
/** Where etcd, etcdctl (and etcdutl) are linked to the installed version's programs. */
export const ETCD_BIN_DIR = '/usr/local/bin';
export const ETCD_BINARY = `${ETCD_BIN_DIR}/etcd`;

/** The folder one etcd version is unpacked into, under `root` (default ETCD_INSTALL_ROOT). */
export function etcdVersionDir(version: string, root = ETCD_INSTALL_ROOT): string {
  return `${root}/v${version}`;
}

/** etcd's output where the agent's supervisor runs it (under systemd it goes to the journal). */
export const ETCD_LOG_FILE = '/var/log/tskv/etcd.log';

/** Lasts until reboot: the resident agents' sockets, locks and logs, the supervisor's pid and state. */
export const TSKV_RUN_DIR = '/run/tskv';

/** tskv's own files that last. */
export const TSKV_LIB_DIR = '/var/lib/tskv';
/** The agent's files: its runtimes (node-<sha256 prefix>, one per Node version) and codes (tskv-agent-<buildId>). */
export const AGENT_INSTALL_DIR = `${TSKV_LIB_DIR}/agent`;
/** What the controller uploads for the agent to use (the etcd release tarballs). */
export const UPLOAD_CACHE_DIR = `${TSKV_LIB_DIR}/cache`;
/**
 * Snapshots of the member's data taken on the host (root 0700, files 0600), each beside its
 * `<name>.sha256` (sha256sum's format): see agent/api/snapshot.ts for their names.
 */
export const TSKV_SNAPSHOT_DIR = `${TSKV_LIB_DIR}/snapshots`;
export const SNAPSHOT_DIR_MODE = 0o700;
export const SNAPSHOT_FILE_MODE = 0o600;

/** The nftables rules that open etcd's ports across reboots, included from the boot configuration. */
export const NFT_TSKV_RULES = '/etc/tskv/nftables-etcd.nft';
/** The files nftables.service loads at boot (Debian's, then RHEL's): tskv adds its include line. */
export const NFT_BOOT_CONFIGS = ['/etc/nftables.conf', '/etc/sysconfig/nftables.conf'] as const;

/** chrony's folder of extra sources: tskv's NTP servers go to tskv.sources in it. */
export const CHRONY_SOURCES_DIR = '/etc/chrony/sources.d';
/** systemd-timesyncd's drop-in with tskv's NTP servers. */
export const TIMESYNCD_DROPIN = '/etc/systemd/timesyncd.conf.d/tskv.conf';
/** ntpd's configuration (ntpsec's, then classic ntpd's): tskv's servers go in a marked block. */
export const NTP_CONFIGS = ['/etc/ntpsec/ntp.conf', '/etc/ntp.conf'] as const;

/** The kernel's file systems: nothing in them is an etcd data dir (the move-aside route refuses it). */
export const KERNEL_DIRS = ['/proc', '/sys', '/dev'] as const;

/**
 * Folders that are never an etcd data dir themselves, whatever a request says: the data dir
 * move-aside route refuses them (and `/`).
 */
export const SYSTEM_DIRS = [
  '/bin',
  '/boot',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/media',
  '/mnt',
  '/opt',
  '/root',
  '/run',
  '/sbin',
  '/srv',
  '/tmp',
  '/usr',
  '/usr/local',
  '/var',
  '/var/lib',
  '/var/log',
  '/var/tmp',
] as const;

/**
 * Trees that never hold an etcd data or WAL dir, at any depth: the agent hands no folder in them to
 * the etcd user (a folder there owned by etcd would let etcd change the system: /run/systemd/system
 * is empty and loads units as root, /var/lib/private shields DynamicUser services).
 */
export const SYSTEM_TREES = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/proc',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
  '/var/lib/apt',
  '/var/lib/dpkg',
  '/var/lib/private',
  '/var/lib/systemd',
  '/var/spool',
] as const;

/**
 * The cluster lock every changing command holds on each host (flock; /run: a reboot frees it), and
 * the record of who holds it.
 */
export const CLUSTER_LOCK_FILE = `${TSKV_RUN_DIR}/cluster.lock`;
export const CLUSTER_LOCK_OWNER_FILE = `${TSKV_RUN_DIR}/cluster.lock.json`;

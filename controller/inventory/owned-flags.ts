/**
 * The etcd flags tskv sets itself, each with where it takes the value from. render/settings.ts must give
 * every one of them a value (its type says so), and the inventory may not set them through etcd.flags.
 */
export const OWNED_FLAGS = {
  name: "tskv sets --name from the host's key under hosts",
  'initial-advertise-peer-urls':
    "tskv builds --initial-advertise-peer-urls from the host's address and cluster.peerPort",
  'listen-peer-urls': "tskv builds --listen-peer-urls from the host's address and cluster.peerPort",
  'listen-client-urls': "tskv builds --listen-client-urls from the host's address and cluster.clientPort",
  'advertise-client-urls':
    "tskv builds --advertise-client-urls from the host's address and cluster.clientPort",
  'initial-cluster-token': 'tskv sets --initial-cluster-token from cluster.token',
  'initial-cluster': 'tskv builds --initial-cluster from the hosts list',
  'initial-cluster-state':
    'tskv sets --initial-cluster-state itself: new for the members tskv deploy bootstraps, existing for a member tskv member add joins to the running cluster',
  'data-dir': "tskv sets --data-dir from etcd.dataDir or the host's dataDir",
} as const;

export type OwnedFlag = keyof typeof OWNED_FLAGS;

const TLS_WHY =
  'tskv sets the TLS flags itself from tls.mode (auto: its own PKI; files: your own CA and certificates)';
/** The TLS flags tskv sets when tls.mode is not off (render/settings.ts), never the inventory. */
export const TLS_FLAGS = {
  'cert-file': TLS_WHY,
  'key-file': TLS_WHY,
  'client-cert-auth': TLS_WHY,
  'trusted-ca-file': TLS_WHY,
  'peer-cert-file': TLS_WHY,
  'peer-key-file': TLS_WHY,
  'peer-client-cert-auth': TLS_WHY,
  'peer-trusted-ca-file': TLS_WHY,
  'peer-cert-allowed-cn': TLS_WHY,
  'client-crl-file': TLS_WHY,
  'peer-crl-file': TLS_WHY,
  'auto-tls': "etcd's own self-signed certificates are never verified; tskv sets TLS from tls.mode",
  'peer-auto-tls': "etcd's own self-signed certificates are never verified; tskv sets TLS from tls.mode",
} as const;

export type TlsFlag = keyof typeof TLS_FLAGS;

/** Why etcd.flags may not set a flag, and what to do instead (phrased as the fix). */
export interface Refusal {
  why: string;
  fix: string;
}

const JOIN_FIX =
  'remove it, and add members to a running cluster with tskv member add INVENTORY NAME --start';

/**
 * Flags etcd.flags may not set: tskv's own; --config-file, which would make etcd ignore them; and flags
 * that belong only to a deliberate one-off recovery, never to every start of every member.
 */
export const REFUSED_FLAGS: ReadonlyMap<string, Refusal> = new Map<string, Refusal>([
  ...Object.entries(OWNED_FLAGS).map(([flag, why]): [string, Refusal] => [
    flag,
    { why, fix: flag === 'initial-cluster-state' ? JOIN_FIX : 'remove it' },
  ]),
  ...Object.entries(TLS_FLAGS).map(([flag, why]): [string, Refusal] => [
    flag,
    { why, fix: 'remove it, and set tls.mode: auto (or files, with your own certificates)' },
  ]),
  [
    'config-file',
    {
      why: 'with --config-file etcd ignores every other flag and environment variable tskv sets',
      fix: 'remove it',
    },
  ],
  [
    'force-new-cluster',
    {
      why: 'every member would drop the others and start as a one-member cluster, on every restart',
      fix: 'remove it, and rebuild from a surviving member with tskv recover (after a quorum loss)',
    },
  ],
  [
    'unsafe-no-fsync',
    {
      why: 'etcd then acknowledges writes before they are on disk, and a crash or power loss loses them',
      fix: 'remove it: never on a cluster whose data matters',
    },
  ],
]);

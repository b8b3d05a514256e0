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
  'initial-cluster-state': 'tskv decides --initial-cluster-state (new or existing) from the live cluster',
  'data-dir': "tskv sets --data-dir from etcd.dataDir or the host's dataDir",
} as const;

export type OwnedFlag = keyof typeof OWNED_FLAGS;

/** Flags etcd.flags may not set, and why: tskv's own, and --config-file, which would make etcd ignore them. */
export const REFUSED_FLAGS: ReadonlyMap<string, string> = new Map([
  ...Object.entries(OWNED_FLAGS),
  ['config-file', 'with --config-file etcd ignores every other flag and environment variable tskv sets'],
]);

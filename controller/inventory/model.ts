/** The normalised inventory every other module works from (produced by ./load.ts). */

/** off: only from ssh_config's `StrictHostKeyChecking no`, with a warning on every run. */
export type HostKeyPolicy = 'strict' | 'accept-new' | 'off';

export interface SshSettings {
  user: string;
  port: number;
  /** Absolute path (~ and relative paths resolved against the inventory's folder), or undefined to use only ssh-agent. */
  identityFile: string | undefined;
  /** ssh_config's further IdentityFiles (those that exist), tried after identityFile in order. */
  moreIdentityFiles?: string[];
  /** ssh_config IdentitiesOnly: the agent's keys are not offered when an identity file is usable. */
  identitiesOnly?: boolean;
  /** Absolute path of the known_hosts file host keys are verified against. */
  knownHosts: string;
  hostKeyPolicy: HostKeyPolicy;
  /** OpenSSH-style ProxyCommand (%h host, %p port, %r user); its stdio carries the SSH connection. */
  proxyCommand: string | undefined;
  /**
   * OpenSSH-style ProxyJump (`[user@]host[:port][,next...]`, see ./proxy-jump.ts): the connection is
   * forwarded through these hosts; proxyCommand, if set, reaches the first one. Undefined: direct.
   * From the inventory, else from ssh_config (inventory/ssh-settings.ts).
   */
  proxyJump?: string | undefined;
  /**
   * The proxyJump hops, each with its own settings (resolved with the inventory: ssh_config for
   * the hop's name, see ./ssh-settings.ts); without them a hop takes the target's settings.
   */
  jumpHosts?: SshTarget[];
  connectTimeoutMs: number;
  /** A jump host after the first: the jump host it is reached through (not from here). */
  reachedThrough?: string;
  /** Where SSH connects when it is not `address` (ssh_config HostName of the host's alias). */
  hostName?: string;
  /** The name host keys are looked up under in known_hosts instead of the address (ssh_config HostKeyAlias). */
  hostKeyAlias?: string;
  /** The ssh-agent socket to use instead of SSH_AUTH_SOCK (ssh_config IdentityAgent), or 'none' for no agent. */
  identityAgent?: string;
  /** SSH keepalive period (ssh_config ServerAliveInterval); connect's default when absent. */
  keepaliveIntervalMs?: number;
  /** Where each setting came from: `inventory FILE:LINE`, `ssh_config FILE:LINE` or `default`, by setting name. */
  sources?: Record<string, string>;
}

export interface HostSpec {
  /** Member name (etcd --name). */
  name: string;
  /** IP address or DNS name used for SSH and for etcd's URLs. */
  address: string;
  ssh: SshSettings;
  /** etcd --data-dir on this host. */
  dataDir: string;
  /** The inventory's data dir before `{name}` became the member's name: where another member's data would be. */
  dataDirTemplate: string;
  /** tls.mode files: the member's own certificates and keys on the controller (absolute paths). */
  tls?: MemberTlsPaths;
}

/** What connecting needs of a host (a jump host has no more than this). */
export type SshTarget = Pick<HostSpec, 'name' | 'address' | 'ssh'>;

/** A certificate and its private key on the controller, as absolute paths. */
export interface CertKeyPaths {
  cert: string;
  key: string;
}

export interface MemberTlsPaths {
  /** What etcd serves clients with (--cert-file, --key-file). */
  server: CertKeyPaths;
  /** What etcd speaks to peers with (--peer-cert-file, --peer-key-file): the server pair unless the inventory names another. */
  peer: CertKeyPaths;
}

export type FlagValue = string | number | boolean;

export type EtcdFetch = 'controller' | 'host';

export interface EtcdSpec {
  version: string;
  /**
   * Absolute local path or http(s) URL of an official-layout tarball (etcd-vX-linux-ARCH/{etcd,etcdctl});
   * the official release URL (amd64) when the inventory names none.
   */
  source: string;
  /** Lower-case; a URL source without it is held to the table of official checksums (artifacts/etcd-checksums.ts). */
  sha256: string | undefined;
  /**
   * controller: the controller reads (or downloads) the tarball and pushes it to each host; host:
   * each host's agent downloads the URL `source` itself and checks it against the expected sha256.
   */
  fetch: EtcdFetch;
  /** fetch: host: the proxy the hosts download through (http(s)://host:port). */
  fetchProxy?: string;
  /** Extra etcd flags for every member, without leading dashes (e.g. { 'enable-v2': true }). */
  flags: Record<string, FlagValue>;
}

export type TlsMode = 'auto' | 'files' | 'off';

export interface TlsSpec {
  /**
   * auto: the controller's PKI in `dir`; files: the operator's own CA and certificates (`files`, and
   * each host's `tls`). Either way every etcd URL is https with client-certificate auth.
   */
  mode: TlsMode;
  /** Absolute path of the controller's PKI folder (default: <inventory dir>/<inventory name>.pki). */
  dir: string;
  /**
   * The inventory names a mode. Without one, a cluster tskv bootstraps gets auto, and one that ran
   * before (plain HTTP, from a tskv before TLS was the default) stays off until the inventory says auto.
   */
  declared: boolean;
  /** tls.mode files: the operator's CA certificate and the client identity tskv presents to etcd. */
  files?: { ca: string; client: CertKeyPaths };
}

export interface ClusterSpec {
  token: string;
  clientPort: number;
  peerPort: number;
  /**
   * With TLS on, the networks let in on the client port besides the members, in their one
   * spelling (agent/api/cidr.ts); absent: anywhere (client certificates guard it).
   */
  clientSources?: string[];
}

export interface Inventory {
  /** Absolute path of the inventory file. */
  file: string;
  cluster: ClusterSpec;
  etcd: EtcdSpec;
  hosts: HostSpec[];
  time: { servers: string[] };
  tls: TlsSpec;
  /** The automatic snapshots before changes: the newest `keep` stay on a host. */
  snapshots: { keep: number };
  /** relay: hosts pass the agent runtime and the etcd tarball on to each other (controller/transfer/relay.ts). */
  transfer: { relay: boolean };
  /** Absolute path of the template folder (the project's templates/ unless the inventory names its own). */
  templatesDir: string;
  /** Non-fatal findings (e.g. an even member count), printed by commands. */
  warnings: string[];
  /**
   * SSH settings for a host the inventory does not list (a leaving member's, at its peer
   * address): the inventory's top-level `ssh`, then ssh_config for that address; never another
   * host's own settings.
   */
  sshOfUnlisted: (name: string, address: string) => SshSettings;
}

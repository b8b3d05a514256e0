import { z } from 'zod';
import { cidrProblem } from '../../agent/api/cidr.ts';
import { ETCD_VERSION_PATTERN } from '../../agent/api/fields.ts';
import { isAddress, isMemberAddress, memberAddressProblem } from './addresses.ts';
import type { PathSegment } from './problems.ts';
import { proxyJumpProblem } from './proxy-jump.ts';
import { dataDirProblem, flagTextProblem, TOKEN_MAX_BYTES, tokenProblem } from './text.ts';

/** The inventory as written (strict: unknown keys are errors). Defaults and paths are applied by normalise.ts. */

const port = z.number().int().min(1).max(65535);
/** Checked as written here ('{name}' as ordinary text); cross-checks.ts checks each member's expansion. */
const dataDir = z.string().refine((p) => dataDirProblem(p) === undefined);
const address = z.string().refine(isAddress);
/** Where clients may connect from, with TLS on: more would be a firewall no one can read. */
export const MAX_CLIENT_SOURCES = 256;
const source = z.string().refine((s) => cidrProblem(s) === undefined);

const sshSchema = z.strictObject({
  // What OpenSSH accepts as a user name; it also reaches a shell through ProxyCommand's %r.
  user: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, { message: 'must be a user name (letters, digits, _ . -)' })
    .optional(),
  port: port.optional(),
  identityFile: z.string().min(1).optional(),
  knownHosts: z.string().min(1).optional(),
  hostKeyPolicy: z.enum(['strict', 'accept-new']).optional(),
  proxyCommand: z.string().min(1).optional(),
  proxyJump: z
    .string()
    .refine((j) => proxyJumpProblem(j) === undefined)
    .optional(),
  connectTimeout: z.number().positive().max(3600).optional(),
  // ssh_config to read (default ~/.ssh/config when it exists), or 'none'.
  configFile: z.string().min(1).optional(),
});

/** A host may name its ssh_config alias (Host pattern) while `address` stays what etcd advertises. */
const hostSshSchema = sshSchema.extend({
  host: z
    .string()
    .regex(/^[^\s!*?,]+$/)
    .optional(),
});

const controllerPath = z.string().min(1);

/** tls.mode files: a member's own certificates (the peer pair defaults to the server pair). */
const hostTlsSchema = z.strictObject({
  cert: controllerPath,
  key: controllerPath,
  peerCert: controllerPath.optional(),
  peerKey: controllerPath.optional(),
});

const hostSchema = z.strictObject({
  address: z.string().refine(isMemberAddress),
  ssh: hostSshSchema.optional(),
  dataDir: dataDir.optional(),
  tls: hostTlsSchema.optional(),
});

/** An etcd release version: 3.5.17, or a pre-release such as 3.6.0-rc.1 (the agent accepts the same). */
export const ETCD_VERSION = ETCD_VERSION_PATTERN;

const flagValue = z.union([
  z.string().refine((v) => flagTextProblem(v) === undefined),
  z.number(),
  z.boolean(),
]);

export const inventorySchema = z.strictObject({
  cluster: z.strictObject({
    token: z
      .string()
      .min(1)
      .refine((t) => tokenProblem(t) === undefined),
    clientPort: port.optional(),
    peerPort: port.optional(),
    clientSources: z.array(source).min(1).max(MAX_CLIENT_SOURCES).optional(),
  }),
  etcd: z.strictObject({
    version: z.string().regex(ETCD_VERSION),
    // Optional: the official release URL of `version` (see normalise.ts).
    source: z
      .string()
      .refine((s) => s.length > 0 && (!s.includes('://') || /^https?:\/\/[^/]+/.test(s)))
      .optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/)
      .optional(),
    // Who downloads a URL source: the controller, which pushes it (default), or each host itself.
    fetch: z.enum(['controller', 'host']).optional(),
    // The proxy the hosts download through (fetch: host): its form is checked in etcd-source.ts,
    // whose messages never repeat it (it may hold a password).
    fetchProxy: z.string().max(300).optional(),
    flags: z.record(z.string(), flagValue).optional(),
    dataDir: dataDir.optional(),
  }),
  ssh: sshSchema.optional(),
  hosts: z.record(z.string(), hostSchema),
  time: z.strictObject({ servers: z.array(address).optional() }).optional(),
  templates: z.string().min(1).optional(),
  snapshots: z.strictObject({ keep: z.number().int().min(1).max(1000).optional() }).optional(),
  transfer: z.strictObject({ relay: z.boolean().optional() }).optional(),
  tls: z
    .strictObject({
      mode: z.enum(['auto', 'files', 'off']).optional(),
      dir: z.string().min(1).optional(),
      ca: controllerPath.optional(),
      client: z.strictObject({ cert: controllerPath, key: controllerPath }).optional(),
    })
    .optional(),
});

export type RawInventory = z.infer<typeof inventorySchema>;
export type RawSsh = z.infer<typeof hostSshSchema>;

const PORT = 'a whole number from 1 to 65535';
const PEM_PATH = 'the path of a PEM file on this machine (relative to the inventory) with';
const DATA_DIR =
  "an absolute path of printable characters without '.' or '..' parts, '//' or a trailing '/', and not / or a system folder such as /etc or /var/lib; '{name}' stands for the member name (default /var/lib/etcd/{name}.etcd)";

/** What a right value looks like, by path pattern ('*' is any host, flag or list index). */
const HINTS: Record<string, string> = {
  '': 'a YAML map with the keys cluster, etcd, ssh and hosts',
  cluster: 'a map with token (and optionally clientPort, peerPort, clientSources)',
  'cluster.token': `one word shared by all members, passed as --initial-cluster-token: printable characters without quotes or whitespace, at most ${TOKEN_MAX_BYTES} bytes (e.g. etcd-cluster-1)`,
  'cluster.clientPort': `${PORT} (default 2379)`,
  'cluster.peerPort': `${PORT} (default 2380)`,
  'cluster.clientSources': `a list of 1 to ${MAX_CLIENT_SOURCES} networks that may connect to the client port when TLS is on (default: anywhere), e.g. [10.0.0.0/8, "fd00::/64"]`,
  'cluster.clientSources.*':
    'an IPv4 or IPv6 network in CIDR notation (e.g. 10.0.0.0/8 or fd00::/64) or one address (e.g. 192.168.100.7)',
  etcd: 'a map with version (and optionally source, sha256, fetch, fetchProxy, flags, dataDir)',
  'etcd.version':
    'an etcd release version like 3.5.17 (three numbers; quote it if YAML reads it as a number)',
  'etcd.source':
    'a path to an official-layout etcd tarball (etcd-vX.Y.Z-linux-ARCH.tar.gz) or an http(s) URL of one',
  'etcd.sha256': "the tarball's sha256 checksum as 64 hexadecimal digits",
  'etcd.fetch':
    'one of controller (default: the controller downloads a URL source and pushes it to every host, for hosts without internet) or host (each host downloads etcd.source itself and checks its sha256; for hosts that reach the URL)',
  'etcd.fetchProxy':
    'the proxy each host downloads etcd.source through with etcd.fetch: host, as scheme, host and port (e.g. http://proxy.internal:3128), without a user or password (it is sent to every host)',
  transfer: 'a map with relay (true or false)',
  'transfer.relay':
    'true (default: the first host that receives the agent or the etcd tarball passes it on to the others, so the controller sends it once) or false (the controller sends it to every host)',
  'etcd.flags': 'a map of extra etcd flags without leading dashes (e.g. enable-v2: true)',
  'etcd.flags.*': 'a one-line string without control characters, a number or a boolean',
  'etcd.dataDir': DATA_DIR,
  snapshots: 'a map with keep (how many automatic snapshots each host keeps)',
  'snapshots.keep': 'a whole number from 1 to 1000 (default 5): the newest snapshots kept on a host',
  ssh: 'a map of SSH settings (user, port, identityFile, knownHosts, hostKeyPolicy, proxyCommand, proxyJump, connectTimeout, configFile; per host also host)',
  'ssh.user': 'a non-empty user name (default root)',
  'ssh.port': `${PORT} (default 22)`,
  'ssh.identityFile': 'the path of a private key file (~ and paths relative to the inventory allowed)',
  'ssh.knownHosts': 'the path of a known_hosts file (default ~/.ssh/known_hosts)',
  'ssh.hostKeyPolicy': 'one of strict, accept-new',
  'ssh.proxyCommand': 'an OpenSSH-style ProxyCommand (%h host, %p port, %r user)',
  'ssh.proxyJump': "jump hosts as in OpenSSH's ProxyJump, [user@]host[:port][,next...], or none",
  'ssh.connectTimeout': 'a number of seconds above 0 and at most 3600 (default 10)',
  'ssh.configFile':
    "the path of an OpenSSH client config to read (default ~/.ssh/config when it exists), or 'none' to read none",
  'ssh.host': 'an ssh_config Host alias for this host (one name without spaces, * ? ! or commas)',
  hosts: 'a map from member name to { address: ... } with at least one host',
  'hosts.*': 'a map with address (and optionally ssh, dataDir, tls)',
  'hosts.*.address': 'an IPv4 or IPv6 address or a DNS name (e.g. 192.168.100.102 or etcd1.example.com)',
  'hosts.*.dataDir': DATA_DIR,
  'hosts.*.tls':
    "the member's own certificates for tls.mode files: a map with cert and key (and optionally peerCert, peerKey)",
  'hosts.*.tls.cert': `${PEM_PATH} the member's server certificate (also its peer one unless peerCert is given)`,
  'hosts.*.tls.key': `${PEM_PATH} the private key of cert (mode 0600 or 0400)`,
  'hosts.*.tls.peerCert': `${PEM_PATH} the member's peer certificate (default: cert)`,
  'hosts.*.tls.peerKey': `${PEM_PATH} the private key of peerCert (mode 0600 or 0400)`,
  time: 'a map with servers',
  'time.servers': 'a list of NTP servers',
  'time.servers.*': 'an NTP server address or DNS name (e.g. pool.ntp.org)',
  templates: 'the path of a folder of .hbs templates (relative to the inventory)',
  tls: 'a map with mode (and dir for auto; ca and client for files)',
  'tls.mode':
    "one of auto (tskv's own PKI: every member and client speaks TLS with certificates), files (the same with your own CA and certificates) or off (plain HTTP, no authentication)",
  'tls.ca': `${PEM_PATH} the certificate of the CA that issued every member's and the client's certificate`,
  'tls.client':
    'the certificate tskv presents to etcd, for tls.mode files: a map with cert and key (relative to the inventory)',
  'tls.client.cert': `${PEM_PATH} a client certificate (clientAuth) of the CA in tls.ca`,
  'tls.client.key': `${PEM_PATH} the private key of tls.client.cert (mode 0600 or 0400)`,
  'tls.dir':
    "the folder where the controller keeps the PKI (relative to the inventory; default: the inventory's name with .pki beside it)",
};

/** What is wrong with a value a hint alone does not say, by path pattern, as "which …" completes it. */
const WHY: Record<string, (value: string) => string | undefined> = {
  'cluster.token': tokenProblem,
  'etcd.flags.*': flagTextProblem,
  'etcd.dataDir': dataDirProblem,
  'hosts.*.dataDir': dataDirProblem,
  'hosts.*.address': memberAddressProblem,
  'cluster.clientSources.*': cidrProblem,
  'ssh.proxyJump': proxyJumpProblem,
};

/** The pattern a concrete path matches in HINTS: hosts.h1.ssh.port → ssh.port. */
function pattern(path: readonly PathSegment[]): string {
  const parts = path.map(String);
  if (parts[0] === 'hosts' && parts.length >= 2) {
    if (parts[2] === 'ssh') return ['ssh', ...parts.slice(3)].join('.');
    parts[1] = '*';
  }
  if (parts[0] === 'etcd' && parts[1] === 'flags' && parts.length >= 3) parts[2] = '*';
  if (parts[0] === 'time' && parts[1] === 'servers' && parts.length >= 3) parts[2] = '*';
  if (parts[0] === 'cluster' && parts[1] === 'clientSources' && parts.length >= 3) parts[2] = '*';
  return parts.join('.');
}

export function hintFor(path: readonly PathSegment[]): string {
  const key = pattern(path);
  return Object.hasOwn(HINTS, key) ? HINTS[key]! : 'a valid value';
}

/** Why this string value is wrong where the hint does not say it (e.g. "has a line break (U+000A)"). */
export function whyWrong(path: readonly PathSegment[], value: unknown): string | undefined {
  const key = pattern(path);
  return typeof value === 'string' && Object.hasOwn(WHY, key) ? WHY[key]!(value) : undefined;
}

/** The keys a map at this path may have (for did-you-mean), or [] if the path is not a fixed-key map. */
export function knownKeys(path: readonly PathSegment[]): string[] {
  let schema: z.ZodType = inventorySchema;
  for (const segment of path) {
    while (schema instanceof z.ZodOptional) schema = schema.unwrap() as z.ZodType;
    if (schema instanceof z.ZodObject) {
      const shape = schema.shape as Record<string, z.ZodType>;
      schema = Object.hasOwn(shape, segment) ? shape[segment]! : z.never();
    } else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else return [];
  }
  while (schema instanceof z.ZodOptional) schema = schema.unwrap() as z.ZodType;
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

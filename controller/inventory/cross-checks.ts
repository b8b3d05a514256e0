import { posix } from 'node:path';
import { canonicalAddress, isDnsLabel, isMemberAddress, memberNameProblem } from './addresses.ts';
import { DEFAULT_CLIENT_PORT, DEFAULT_PEER_PORT } from './normalise.ts';
import { REFUSED_FLAGS } from './owned-flags.ts';
import { type PathProblem, type PathSegment, quoted } from './problems.ts';
import { dataDirProblem } from './text.ts';

const FLAG_NAME = /^[a-z0-9][a-z0-9-]*$/;
/** More hosts than any etcd cluster has, and a bound on what one run opens connections to. */
export const MAX_HOSTS = 1000;

export interface InventoryFindings {
  problems: PathProblem[];
  warnings: PathProblem[];
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function checkHosts(hosts: Record<string, unknown>, out: InventoryFindings): void {
  const names = Object.keys(hosts);
  if (names.length === 0) {
    out.problems.push({
      path: ['hosts'],
      at: 'key',
      message: 'hosts is empty; list at least one member (e.g. h1: { address: 192.168.100.101 })',
    });
    return;
  }
  if (names.length > MAX_HOSTS) {
    out.problems.push({
      path: ['hosts'],
      at: 'key',
      message: `hosts lists ${names.length} members; at most ${MAX_HOSTS} are allowed (an etcd cluster has 3, 5 or 7 voting members): split the hosts into several inventories, one per cluster`,
    });
  }
  const owners = new Map<string, { name: string; address: string }>();
  for (const name of names) {
    const why = memberNameProblem(name);
    if (why) {
      out.problems.push({
        path: ['hosts', name],
        at: 'key',
        message: `member name '${name}' ${why}; use a DNS label such as h102 (letters, digits, '-')`,
      });
    } else if (!isDnsLabel(name)) {
      out.warnings.push({
        path: ['hosts', name],
        at: 'key',
        message: `member name '${name}' is not a DNS label; etcd accepts it, but letters, digits and '-' (at most 63) are safest`,
      });
    }
    const address = asRecord(hosts[name])?.address;
    if (typeof address !== 'string' || !isMemberAddress(address)) continue;
    const key = canonicalAddress(address);
    const owner = owners.get(key);
    if (owner !== undefined) {
      const same =
        key === address.toLowerCase() && key === owner.address.toLowerCase() ? '' : ` (both are ${key})`;
      out.problems.push({
        path: ['hosts', name, 'address'],
        at: 'value',
        message: `address ${address} is already used by host '${owner.name}'${same}; every member needs its own address`,
      });
    } else {
      owners.set(key, { name, address });
    }
  }
  if (names.length % 2 === 0) {
    const n = names.length;
    const tolerated = (n - 1 - ((n - 1) % 2)) / 2;
    out.warnings.push({
      path: ['hosts'],
      at: 'key',
      message: `${n} members tolerate no more failures than ${n - 1} (${tolerated} either way); use an odd number of members`,
    });
  }
}

function checkPorts(cluster: Record<string, unknown>, out: InventoryFindings): void {
  const client = cluster.clientPort ?? DEFAULT_CLIENT_PORT;
  const peer = cluster.peerPort ?? DEFAULT_PEER_PORT;
  if (client !== peer) return;
  const key = cluster.peerPort !== undefined ? 'peerPort' : 'clientPort';
  const other = key === 'peerPort' ? 'clientPort' : 'peerPort';
  out.problems.push({
    path: ['cluster', key],
    at: 'value',
    message: `cluster.${key} ${String(peer)} clashes with cluster.${other}; etcd needs two different ports (defaults: clientPort ${DEFAULT_CLIENT_PORT}, peerPort ${DEFAULT_PEER_PORT})`,
  });
}

function checkFlags(flags: Record<string, unknown>, out: InventoryFindings): void {
  for (const flag of Object.keys(flags)) {
    const path = ['etcd', 'flags', flag];
    const bare = flag.replace(/^-+/, '');
    if (bare !== flag) {
      out.problems.push({
        path,
        at: 'key',
        message: `write etcd flag '${flag}' without leading dashes: '${bare}'`,
      });
    } else if (REFUSED_FLAGS.has(flag)) {
      const { why, fix } = REFUSED_FLAGS.get(flag)!;
      out.problems.push({
        path,
        at: 'key',
        message: `etcd flag '${flag}' cannot be set in etcd.flags: ${why}; ${fix}`,
      });
    } else if (!FLAG_NAME.test(flag)) {
      out.problems.push({
        path,
        at: 'key',
        message: `'${flag}' is not an etcd flag name; flags are lower-case letters, digits and '-' (e.g. enable-v2)`,
      });
    }
  }
}

/**
 * Each member's data dir with '{name}' expanded: `/{name}` is a fine template but gives member 'etc' /etc.
 * The templates themselves are checked by the schema; a problem is reported at the dataDir key that applies.
 */
function checkDataDirs(hosts: Record<string, unknown>, globalDir: unknown, out: InventoryFindings): void {
  for (const name of Object.keys(hosts)) {
    if (memberNameProblem(name)) continue;
    const own = asRecord(hosts[name])?.dataDir;
    const [template, path] =
      own !== undefined ? [own, ['hosts', name, 'dataDir']] : [globalDir, ['etcd', 'dataDir']];
    if (typeof template !== 'string' || !template.includes('{name}') || dataDirProblem(template)) continue;
    const dir = template.replaceAll('{name}', name);
    const why = dataDirProblem(dir);
    if (why === undefined) continue;
    out.problems.push({
      path,
      at: 'key',
      message: `${path.join('.')} ${quoted(template)} gives member '${name}' the data dir ${quoted(dir)}, which ${why}; put '{name}' below a folder of etcd's own (e.g. /var/lib/etcd/{name}.etcd)`,
    });
  }
}

/** clientSources narrows the client port only with TLS on: with it off, the whole zone stays let in. */
function checkClientSources(cluster: Record<string, unknown>, tls: unknown, out: InventoryFindings): void {
  if (cluster.clientSources === undefined || asRecord(tls)?.mode !== 'off') return;
  out.warnings.push({
    path: ['cluster', 'clientSources'],
    at: 'key',
    message:
      'cluster.clientSources has no effect with tls.mode off: without client certificates the client port stays open to the whole firewall zone, as before; set tls.mode auto to restrict it',
  });
}

/** etcd's --log-outputs names: these are streams, anything else is a file. */
const LOG_STREAMS = new Set(['default', 'stderr', 'stdout', 'journal']);

/** A log file outside /var/log is a warning: logrotate, disk checks and operators look there. */
function checkLogOutputs(value: unknown, out: InventoryFindings): void {
  if (typeof value !== 'string') return;
  for (const output of value.split(',').map((o) => o.trim())) {
    if (LOG_STREAMS.has(output)) continue;
    if (output.startsWith('/') && posix.normalize(output).startsWith('/var/log/')) continue;
    out.warnings.push({
      path: ['etcd', 'flags', 'log-outputs'],
      at: 'value',
      message: `etcd.flags.log-outputs writes the log file ${quoted(output)}, outside /var/log; use a file under /var/log (e.g. /var/log/etcd/etcd.log) or stderr (the journal under systemd)`,
    });
  }
}

const FILES_ONLY = 'is for tls.mode files (your own CA and certificates)';

/** What tls.mode files needs in tls, as "needs …" completes it. */
const FILES_NEEDS = {
  ca: "the path of the PEM certificate of the CA that issued the members' certificates (e.g. ca: ./ca.crt)",
  client:
    'the certificate and key tskv presents to etcd, of the same CA with clientAuth (e.g. client: { cert: ./client.crt, key: ./client.key })',
} as const;

/**
 * tls.mode files needs the CA, the client identity and every member's certificates; any other mode
 * takes none of them (auto issues its own), and files mode has no PKI folder of tskv's.
 */
function checkTls(
  tls: Record<string, unknown>,
  hosts: Record<string, unknown>,
  out: InventoryFindings,
): void {
  const mode = tls.mode;
  const keyProblem = (path: PathSegment[], message: string) =>
    out.problems.push({ path, at: 'key', message });
  if (mode === 'files') {
    for (const [key, what] of Object.entries(FILES_NEEDS)) {
      if (tls[key] === undefined)
        keyProblem(['tls', key], `missing required key '${key}' in tls: tls.mode files needs ${what}`);
    }
    if (tls.dir !== undefined) {
      keyProblem(
        ['tls', 'dir'],
        "tls.dir is the folder of tskv's own PKI (tls.mode auto); with tls.mode files the certificates are yours: remove it",
      );
    }
  }
  const now = mode === undefined ? 'tls.mode is not set' : `tls.mode is ${String(mode)}`;
  const notFiles = (path: PathSegment[]) =>
    keyProblem(path, `${path.join('.')} ${FILES_ONLY}, and ${now}: remove it, or set tls.mode: files`);
  if (mode !== 'files') {
    for (const key of ['ca', 'client'] as const) if (tls[key] !== undefined) notFiles(['tls', key]);
  }
  for (const name of Object.keys(hosts)) {
    const own = asRecord(hosts[name]);
    if (own === undefined) continue;
    const hostTls = asRecord(own.tls);
    if (mode !== 'files') {
      if (own.tls !== undefined) notFiles(['hosts', name, 'tls']);
    } else if (own.tls === undefined) {
      keyProblem(
        ['hosts', name],
        `host '${name}' has no tls: tls.mode files needs each member's certificate and key (e.g. tls: { cert: ./${name}.crt, key: ./${name}.key })`,
      );
    } else if (hostTls && (hostTls.peerCert === undefined) !== (hostTls.peerKey === undefined)) {
      const [given, missing] =
        hostTls.peerCert === undefined ? ['peerKey', 'peerCert'] : ['peerCert', 'peerKey'];
      keyProblem(
        ['hosts', name, 'tls', given],
        `hosts.${name}.tls.${given} needs ${missing} beside it: give peerCert and peerKey together, or neither (the peer port then uses cert and key too)`,
      );
    }
  }
}

/** Checks across fields, on the raw data (defensive about types: zod reports those). */
export function crossChecks(data: unknown): InventoryFindings {
  const out: InventoryFindings = { problems: [], warnings: [] };
  const root = asRecord(data);
  if (!root) return out;
  const hosts = asRecord(root.hosts);
  if (hosts) checkHosts(hosts, out);
  if (hosts) checkDataDirs(hosts, asRecord(root.etcd)?.dataDir, out);
  const tls = asRecord(root.tls) ?? {};
  if (hosts) checkTls(tls, hosts, out);
  const cluster = asRecord(root.cluster);
  if (cluster) checkPorts(cluster, out);
  if (cluster) checkClientSources(cluster, root.tls, out);
  const flags = asRecord(asRecord(root.etcd)?.flags);
  if (flags) checkFlags(flags, out);
  if (flags) checkLogOutputs(flags['log-outputs'], out);
  return out;
}

import { homedir } from 'node:os';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { canonicalCidr } from '../../agent/api/cidr.ts';
import { DEFAULT_SNAPSHOT_KEEP } from '../../agent/api/index.ts';
import { isUrlSource, officialEtcdUrl } from '../artifacts/etcd-release.ts';
import type { HostSpec, Inventory, MemberTlsPaths, TlsSpec } from './model.ts';
import type { PathSegment } from './problems.ts';
import type { RawInventory } from './schema.ts';
import { sshSettings } from './ssh-settings.ts';

export const DEFAULT_CLIENT_PORT = 2379;
export const DEFAULT_PEER_PORT = 2380;
export const DEFAULT_DATA_DIR = '/var/lib/etcd/{name}.etcd';
export { DEFAULT_CONNECT_TIMEOUT_S } from './ssh-settings.ts';
/** The project's own templates/ folder. */
export const PROJECT_TEMPLATES_DIR = resolve(import.meta.dirname, '../../templates');

/** `~` and `~/x` are the home folder; other relative paths are relative to `baseDir`. */
export function resolvePath(path: string, baseDir: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return resolve(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** The data dir of member `name` under an inventory data dir that may hold `{name}`. */
export function dataDirOf(template: string, name: string): string {
  return template.replaceAll('{name}', name);
}

type RawHostTls = NonNullable<RawInventory['hosts'][string]['tls']>;

/** tls.mode files: a member's pairs; the peer port uses the server pair unless the inventory names another. */
function memberTls(own: RawHostTls, baseDir: string): MemberTlsPaths {
  const server = { cert: resolvePath(own.cert, baseDir), key: resolvePath(own.key, baseDir) };
  const peer =
    own.peerCert !== undefined && own.peerKey !== undefined
      ? { cert: resolvePath(own.peerCert, baseDir), key: resolvePath(own.peerKey, baseDir) }
      : server;
  return { server, peer };
}

/** tls.mode files: the operator's CA and tskv's client identity (cross-checks.ts made sure both are there). */
function userTls(raw: RawInventory['tls'], baseDir: string): TlsSpec['files'] {
  if (raw?.mode !== 'files' || raw.ca === undefined || raw.client === undefined) return undefined;
  return {
    ca: resolvePath(raw.ca, baseDir),
    client: { cert: resolvePath(raw.client.cert, baseDir), key: resolvePath(raw.client.key, baseDir) },
  };
}

/** Validated raw inventory → the normalised model: defaults applied, paths absolute. */
export function normalise(
  raw: RawInventory,
  file: string,
  warnings: string[],
  lineOf: (path: PathSegment[]) => number | undefined = () => undefined,
): Inventory {
  const absFile = resolve(file);
  const baseDir = dirname(absFile);
  const sshContext = { baseDir, lineOf, file: absFile, resolvePath, warnings };
  const globalSsh = raw.ssh ?? {};
  const files = userTls(raw.tls, baseDir);
  const hosts: HostSpec[] = Object.entries(raw.hosts).map(([name, host]) => {
    const dataDirTemplate = host.dataDir ?? raw.etcd.dataDir ?? DEFAULT_DATA_DIR;
    return {
      name,
      address: host.address,
      ssh: sshSettings(name, host.address, globalSsh, host.ssh ?? {}, sshContext),
      dataDir: dataDirOf(dataDirTemplate, name),
      dataDirTemplate,
      ...(raw.tls?.mode === 'files' && host.tls ? { tls: memberTls(host.tls, baseDir) } : {}),
    };
  });
  return {
    file: absFile,
    // Resolved when needed (a removal's retirement); its warnings were the hosts' already.
    sshOfUnlisted: (name, address) =>
      sshSettings(name, address, globalSsh, {}, { ...sshContext, warnings: [] }),
    cluster: {
      token: raw.cluster.token,
      clientPort: raw.cluster.clientPort ?? DEFAULT_CLIENT_PORT,
      peerPort: raw.cluster.peerPort ?? DEFAULT_PEER_PORT,
      ...(raw.cluster.clientSources === undefined
        ? {}
        : { clientSources: [...new Set(raw.cluster.clientSources.map((s) => canonicalCidr(s)!))] }),
    },
    etcd: {
      version: raw.etcd.version,
      source:
        raw.etcd.source === undefined
          ? officialEtcdUrl(raw.etcd.version)
          : isUrlSource(raw.etcd.source)
            ? raw.etcd.source
            : resolvePath(raw.etcd.source, baseDir),
      sha256: raw.etcd.sha256?.toLowerCase(),
      fetch: raw.etcd.fetch ?? 'controller',
      ...(raw.etcd.fetchProxy === undefined ? {} : { fetchProxy: raw.etcd.fetchProxy }),
      // Without a prototype: a flag named like an Object property is only ever the inventory's own.
      flags: Object.assign(Object.create(null), raw.etcd.flags),
    },
    hosts,
    time: { servers: raw.time?.servers ?? [] },
    tls: {
      // Undeclared: off until a PKI folder or a new cluster says otherwise (load.ts, deploy).
      mode: raw.tls?.mode ?? 'off',
      declared: raw.tls?.mode !== undefined,
      dir:
        raw.tls?.dir === undefined
          ? join(baseDir, `${basename(absFile, extname(absFile))}.pki`)
          : resolvePath(raw.tls.dir, baseDir),
      ...(files ? { files } : {}),
    },
    snapshots: { keep: raw.snapshots?.keep ?? DEFAULT_SNAPSHOT_KEEP },
    transfer: { relay: raw.transfer?.relay ?? true },
    templatesDir: raw.templates === undefined ? PROJECT_TEMPLATES_DIR : resolvePath(raw.templates, baseDir),
    warnings,
  };
}

import { homedir } from 'node:os';
import { basename, dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { canonicalCidr } from '../../agent/api/cidr.ts';
import { isUrlSource, officialEtcdUrl } from '../artifacts/etcd-release.ts';
import type { HostSpec, Inventory, SshSettings } from './model.ts';
import type { RawInventory, RawSsh } from './schema.ts';

export const DEFAULT_CLIENT_PORT = 2379;
export const DEFAULT_PEER_PORT = 2380;
export const DEFAULT_DATA_DIR = '/var/lib/etcd/{name}.etcd';
export const DEFAULT_CONNECT_TIMEOUT_S = 10;
/** The project's own templates/ folder. */
export const PROJECT_TEMPLATES_DIR = resolve(import.meta.dirname, '../../templates');

/** `~` and `~/x` are the home folder; other relative paths are relative to `baseDir`. */
export function resolvePath(path: string, baseDir: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return resolve(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

function sshSettings(global: RawSsh, own: RawSsh, baseDir: string): SshSettings {
  const s = { ...global, ...own };
  return {
    user: s.user ?? 'root',
    port: s.port ?? 22,
    identityFile: s.identityFile === undefined ? undefined : resolvePath(s.identityFile, baseDir),
    knownHosts: resolvePath(s.knownHosts ?? '~/.ssh/known_hosts', baseDir),
    hostKeyPolicy: s.hostKeyPolicy ?? 'strict',
    proxyCommand: s.proxyCommand,
    connectTimeoutMs: Math.round((s.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_S) * 1000),
  };
}

/** The data dir of member `name` under an inventory data dir that may hold `{name}`. */
export function dataDirOf(template: string, name: string): string {
  return template.replaceAll('{name}', name);
}

/** Validated raw inventory → the normalised model: defaults applied, paths absolute. */
export function normalise(raw: RawInventory, file: string, warnings: string[]): Inventory {
  const absFile = resolve(file);
  const baseDir = dirname(absFile);
  const globalSsh = raw.ssh ?? {};
  const hosts: HostSpec[] = Object.entries(raw.hosts).map(([name, host]) => {
    const dataDirTemplate = host.dataDir ?? raw.etcd.dataDir ?? DEFAULT_DATA_DIR;
    return {
      name,
      address: host.address,
      ssh: sshSettings(globalSsh, host.ssh ?? {}, baseDir),
      dataDir: dataDirOf(dataDirTemplate, name),
      dataDirTemplate,
    };
  });
  return {
    file: absFile,
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
      // Without a prototype: a flag named like an Object property is only ever the inventory's own.
      flags: Object.assign(Object.create(null), raw.etcd.flags),
    },
    hosts,
    time: { servers: raw.time?.servers ?? [] },
    tls: {
      // Opt-in while TLS is built (issue 12): the default turns to auto for new clusters once an
      // existing plaintext cluster can be migrated.
      mode: raw.tls?.mode ?? 'off',
      dir:
        raw.tls?.dir === undefined
          ? join(baseDir, `${basename(absFile, extname(absFile))}.pki`)
          : resolvePath(raw.tls.dir, baseDir),
    },
    templatesDir: raw.templates === undefined ? PROJECT_TEMPLATES_DIR : resolvePath(raw.templates, baseDir),
    warnings,
  };
}

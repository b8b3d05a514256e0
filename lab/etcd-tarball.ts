/**
 * Official-layout etcd tarballs (etcd-vX.Y.Z-linux-ARCH/{etcd,etcdctl[,etcdutl]}) built from
 * Debian packages into `<project>/.cache/etcd/`: 3.4 from this machine's release (bookworm),
 * 3.5 from sid through a private apt configuration (the machine's own apt setup is never
 * touched). Built once; later calls return the cached file.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TskvError } from '../controller/errors.ts';
import { cacheDir } from './names.ts';
import { runOk } from './run.ts';

export type EtcdMinor = '3.4' | '3.5';

export interface EtcdTarball {
  version: string;
  path: string;
}

const PACKAGES = ['etcd-server', 'etcd-client'];
const BINARIES = ['etcd', 'etcdctl', 'etcdutl'];

async function debArch(): Promise<string> {
  return (await runOk('dpkg', ['--print-architecture'])).trim();
}

function tarballName(version: string, arch: string): string {
  return `etcd-v${version}-linux-${arch}`;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function cached(dir: string, minor: EtcdMinor, arch: string): EtcdTarball | undefined {
  if (!existsSync(dir)) return undefined;
  const pattern = new RegExp(`^etcd-v(${minor.replace('.', '\\.')}\\.\\d+)-linux-${arch}\\.tar\\.gz$`);
  const versions = readdirSync(dir)
    .map((f) => pattern.exec(f)?.[1])
    .filter((v): v is string => v !== undefined)
    .sort(compareVersions);
  const version = versions.at(-1);
  return version ? { version, path: join(dir, `${tarballName(version, arch)}.tar.gz`) } : undefined;
}

/** apt-get options for a private sid configuration under .cache/apt-sid (lists and downloads there only). */
function sidAptOptions(): string[] {
  const root = cacheDir('apt-sid');
  for (const sub of ['lists/partial', 'cache/archives/partial'])
    mkdirSync(join(root, sub), { recursive: true });
  const sources = join(root, 'sources.list');
  writeFileSync(sources, 'deb http://deb.debian.org/debian sid main\n');
  return [
    '-o',
    `Dir::Etc::sourcelist=${sources}`,
    '-o',
    'Dir::Etc::sourceparts=-',
    '-o',
    `Dir::State::Lists=${join(root, 'lists')}`,
    '-o',
    `Dir::Cache=${join(root, 'cache')}`,
    '-o',
    'Dir::Etc::preferencesparts=-',
  ];
}

async function download(minor: EtcdMinor, into: string): Promise<void> {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const opts = minor === '3.4' ? [] : sidAptOptions();
  const get = () =>
    runOk('apt-get', ['-q', ...opts, 'download', ...PACKAGES], { cwd: into, env, step: 'apt-get download' });
  try {
    await get();
  } catch {
    // Package lists missing or stale: refresh them (for 3.5, only the private sid lists) and retry.
    await runOk('apt-get', ['-q', ...opts, 'update'], { env, step: 'apt-get update', timeoutMs: 600_000 });
    await get();
  }
}

/** Upstream version of a .deb ("3.4.23-4+b4" → "3.4.23"). */
async function debVersion(deb: string): Promise<string> {
  const full = (await runOk('dpkg-deb', ['-f', deb, 'Version'])).trim();
  return full.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
}

async function build(minor: EtcdMinor, dir: string, arch: string): Promise<EtcdTarball> {
  mkdirSync(dir, { recursive: true });
  const work = mkdtempSync(join(dir, '.build-'));
  try {
    await download(minor, work);
    const debs = readdirSync(work).filter((f) => f.endsWith('.deb'));
    const server = debs.find((f) => f.startsWith('etcd-server_'));
    if (!server)
      throw new TskvError('E_LAB_ETCD', `apt-get download gave no etcd-server package for ${minor}`);
    const version = await debVersion(join(work, server));
    if (!version.startsWith(`${minor}.`)) {
      throw new TskvError('E_LAB_ETCD', `wanted etcd ${minor}.x, the Debian package has ${version}`);
    }
    const extracted = join(work, 'root');
    for (const deb of debs) await runOk('dpkg-deb', ['-x', join(work, deb), extracted]);
    const name = tarballName(version, arch);
    const layout = join(work, 'out', name);
    mkdirSync(layout, { recursive: true });
    for (const bin of BINARIES) {
      const from = join(extracted, 'usr', 'bin', bin);
      if (existsSync(from)) renameSync(from, join(layout, bin));
    }
    for (const bin of ['etcd', 'etcdctl']) {
      if (!existsSync(join(layout, bin)))
        throw new TskvError('E_LAB_ETCD', `the etcd ${version} packages hold no ${bin}`);
    }
    const tmp = join(work, `${name}.tar.gz`);
    await runOk('tar', ['-C', join(work, 'out'), '-czf', tmp, name]);
    const path = join(dir, `${name}.tar.gz`);
    renameSync(tmp, path);
    return { version, path };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The cached tarball for etcd `minor`, building it first if needed. */
export async function ensureEtcdTarball(minor: EtcdMinor): Promise<EtcdTarball> {
  if (minor !== '3.4' && minor !== '3.5')
    throw new TskvError('E_LAB_ETCD', `no lab etcd tarball for '${minor}'`);
  const dir = cacheDir('etcd');
  const arch = await debArch();
  return cached(dir, minor, arch) ?? build(minor, dir, arch);
}

/**
 * Official etcd releases: where each tarball is published and which sha256 it must have. The
 * inventory's validation and the download both ask here, so an http(s) source is never fetched
 * without a checksum to hold it to.
 */
import { posix } from 'node:path';
import { ETCD_RELEASE_CHECKSUMS } from './etcd-checksums.ts';

export type EtcdArch = 'amd64' | 'arm64';
export const ETCD_ARCHES: readonly EtcdArch[] = ['amd64', 'arm64'];
/**
 * The arch of the tarball tskv fetches when the inventory names no source. One tarball goes to
 * every host, and it is chosen before any host has been asked its arch (the push starts while
 * preflight runs), so it is amd64; arm64 hosts take a `source` (URL or path) of the arm64 tarball.
 */
export const DEFAULT_ETCD_ARCH: EtcdArch = 'amd64';

const BY_RELEASE = new Map(ETCD_RELEASE_CHECKSUMS.map((r) => [`${r.version}/${r.arch}`, r.sha256]));

export function isUrlSource(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

export function officialEtcdFileName(version: string, arch: EtcdArch): string {
  return `etcd-v${version}-linux-${arch}.tar.gz`;
}

export function officialEtcdUrl(version: string, arch: EtcdArch = DEFAULT_ETCD_ARCH): string {
  return `https://github.com/etcd-io/etcd/releases/download/v${version}/${officialEtcdFileName(version, arch)}`;
}

/** The official sha256 of that release's tarball, if the table has it. */
export function officialEtcdSha256(version: string, arch: EtcdArch): string | undefined {
  return BY_RELEASE.get(`${version}/${arch}`);
}

/** The arch of a URL whose file is the official tarball of `version` (from any host: mirrors too). */
function officialArchOf(url: string, version: string): EtcdArch | undefined {
  let name: string;
  try {
    name = posix.basename(new URL(url).pathname);
  } catch {
    return undefined;
  }
  return ETCD_ARCHES.find((arch) => officialEtcdFileName(version, arch) === name);
}

export interface ExpectedSha256 {
  sha256: string;
  /** `etcd.sha256`, or the table of official checksums. */
  from: 'inventory' | 'table';
}

/**
 * What a URL source's bytes must hash to: `etcd.sha256` when given, else the table's value when the
 * URL names the official tarball of `version`; undefined when neither is known (the source is refused).
 */
export function expectedSha256(
  version: string,
  url: string,
  sha256: string | undefined,
): ExpectedSha256 | undefined {
  if (sha256) return { sha256: sha256.toLowerCase(), from: 'inventory' };
  const arch = officialArchOf(url, version);
  const official = arch && officialEtcdSha256(version, arch);
  return official ? { sha256: official, from: 'table' } : undefined;
}

/**
 * Why a URL source with no checksum is refused, and the line that would fix it. `hostFetch`: the
 * hosts download it (etcd.fetch: host), so a local tarball is no way out.
 */
export function noChecksumMessage(
  version: string,
  url: string,
  defaulted: boolean,
  hostFetch = false,
): string {
  const what = defaulted
    ? `etcd ${version} is not in tskv's table of official etcd checksums, so its default source ${url} cannot be verified`
    : `etcd.source ${url} is a download without a checksum: etcd.sha256 is not set and tskv's table of official etcd checksums has no such file`;
  return `${what}; add the line 'sha256: <64 hex digits>' under etcd: (official releases list theirs in SHA256SUMS at https://github.com/etcd-io/etcd/releases/tag/v${version})${hostFetch ? '' : ', or give a local tarball as etcd.source'}`;
}

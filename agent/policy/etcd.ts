import { basename } from 'node:path';
import {
  CACHE_NAME_SHA256_DIGITS,
  ETCD_VERSION_PATTERN,
  etcdVersionDir,
  namesContent,
} from '../api/index.ts';
import { refused } from '../errors.ts';
import { etcdBinary, type HostLayout } from './layout.ts';
import { checkSecurePath } from './secure-path.ts';

/**
 * Refuses a tarball that is not a file directly in tskv's upload cache (reached as checkSecurePath
 * says), named by its content `sha256` (agent/api/cache-name.ts). `what` says who takes it.
 */
export async function checkTarball(
  layout: HostLayout,
  tarball: string,
  sha256: string,
  what = 'etcd install takes',
): Promise<void> {
  const name = basename(tarball);
  if (tarball !== `${layout.uploadCacheDir}/${name}`) {
    throw refused(`${what} a tarball only from ${layout.uploadCacheDir}, not ${tarball}`);
  }
  checkContentName(name, sha256, what);
  await checkSecurePath(layout.uploadCacheDir, tarball, what);
}

/** Refuses a cache file name that does not carry `sha256`. */
function checkContentName(name: string, sha256: string, what: string): void {
  if (namesContent(name, sha256)) return;
  throw refused(
    `${what} only a tarball named by its content (<name>.<first ${CACHE_NAME_SHA256_DIGITS} hex digits of its sha256>.tar.gz, say): ${name} does not carry ${sha256.slice(0, CACHE_NAME_SHA256_DIGITS)}`,
  );
}

/**
 * Refuses any etcd program but the ones tskv installs: <binDir>/etcd (linked by etcd install) or
 * <installRoot>/v<version>/etcd.
 */
export function checkEtcdBinary(layout: HostLayout, binary: string): void {
  const version = binary.startsWith(`${layout.installRoot}/v`)
    ? binary.slice(layout.installRoot.length + 2).replace(/\/etcd$/, '')
    : null;
  const versioned = version !== null && binary === `${etcdVersionDir(version, layout.installRoot)}/etcd`;
  if (binary === etcdBinary(layout) || (versioned && ETCD_VERSION_PATTERN.test(version))) return;
  throw refused(
    `etcd runs only as ${etcdBinary(layout)} or ${layout.installRoot}/v<version>/etcd (the programs tskv installs), not ${binary}`,
  );
}

import { basename } from 'node:path';
import { ETCD_VERSION_PATTERN, etcdVersionDir } from '../api/index.ts';
import { refused } from '../errors.ts';
import { etcdBinary, type HostLayout } from './layout.ts';
import { checkSecurePath } from './secure-path.ts';

/** Refuses a tarball that is not a file directly in tskv's upload cache (reached as checkSecurePath says). */
export async function checkTarball(layout: HostLayout, tarball: string): Promise<void> {
  const name = basename(tarball);
  if (tarball !== `${layout.uploadCacheDir}/${name}`) {
    throw refused(`etcd install takes a tarball only from ${layout.uploadCacheDir}, not ${tarball}`);
  }
  await checkSecurePath(layout.uploadCacheDir, tarball, 'etcd install takes');
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

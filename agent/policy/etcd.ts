import { basename } from 'node:path';
import { refused } from '../errors.ts';
import type { HostLayout } from './layout.ts';
import { checkSecurePath } from './secure-path.ts';

/** Refuses a tarball that is not a file directly in tskv's upload cache (reached as checkSecurePath says). */
export async function checkTarball(layout: HostLayout, tarball: string): Promise<void> {
  const name = basename(tarball);
  if (tarball !== `${layout.uploadCacheDir}/${name}`) {
    throw refused(`etcd install takes a tarball only from ${layout.uploadCacheDir}, not ${tarball}`);
  }
  await checkSecurePath(layout.uploadCacheDir, tarball, 'etcd install takes');
}

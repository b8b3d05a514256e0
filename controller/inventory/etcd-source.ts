import {
  expectedSha256,
  isUrlSource,
  noChecksumMessage,
  officialEtcdUrl,
} from '../artifacts/etcd-release.ts';
import type { PathProblem } from './problems.ts';
import { ETCD_VERSION } from './schema.ts';

/**
 * A download needs a checksum: an http(s) `etcd.source`, or none (the official URL of
 * `etcd.version`), is refused unless `etcd.sha256` is given or the table of official checksums
 * has the file. A local path needs neither. On the raw data; zod reports wrong types.
 */
export function etcdSourceProblems(data: unknown): PathProblem[] {
  const etcd = (data as { etcd?: unknown } | null | undefined)?.etcd;
  if (etcd === null || typeof etcd !== 'object') return [];
  const { version, source, sha256 } = etcd as Record<string, unknown>;
  if (sha256 !== undefined || typeof version !== 'string' || !ETCD_VERSION.test(version)) return [];
  if (source === undefined) {
    const url = officialEtcdUrl(version);
    if (expectedSha256(version, url, undefined)) return [];
    return [{ path: ['etcd', 'version'], at: 'value', message: noChecksumMessage(version, url, true) }];
  }
  if (typeof source !== 'string' || !isUrlSource(source) || expectedSha256(version, source, undefined))
    return [];
  return [{ path: ['etcd', 'source'], at: 'value', message: noChecksumMessage(version, source, false) }];
}

/**
 * The etcd tarball travels while preflight runs: for each host whose versioned etcd directory is
 * missing, the tarball is pushed into tskv's own cache on the host (/var/lib/tskv/cache, next to the
 * agent), which changes nothing etcd or the operator sees. Installing it stays a planned step after
 * preflight. A prefetch that fails is only a lost head start: the install pushes again and reports.
 */
import { createReadStream } from 'node:fs';
import { ETCD_INSTALL_ROOT } from '../../agent/api/index.ts';
import { type EtcdArtifact, remoteTarballPath } from '../artifacts/etcd-tarball.ts';
import { shellQuote } from '../connect/index.ts';
import type { HostChannel } from './session.ts';

/** What the host's cache holds after the push: the verified tarball (pushed now or earlier), or nothing needed. */
export type TarballState = 'pushed' | 'cached' | 'installed';

/** Pushes the tarball unless the host's cache already holds these bytes. */
export async function pushTarball(ch: HostChannel, artifact: EtcdArtifact): Promise<'pushed' | 'cached'> {
  const remote = remoteTarballPath(artifact);
  const have = await ch.conn.exec(`sha256sum ${shellQuote(remote)} 2>/dev/null || true`, {
    step: 'check etcd tarball',
  });
  if (have.stdout.startsWith(artifact.sha256)) return 'cached';
  await ch.conn.upload(createReadStream(artifact.path), remote, {
    sha256: artifact.sha256,
    mode: 0o644,
    step: 'upload etcd tarball',
  });
  return 'pushed';
}

async function prefetchOne(
  ch: HostChannel,
  version: string,
  artifact: () => Promise<EtcdArtifact>,
): Promise<TarballState> {
  const binary = `${ETCD_INSTALL_ROOT}/v${version}/etcd`;
  const check = await ch.conn.exec(`[ -x ${shellQuote(binary)} ] && echo installed || true`, {
    step: 'check etcd install',
  });
  if (check.stdout.trim() === 'installed') return 'installed';
  return pushTarball(ch, await artifact());
}

/** Starts the push on every host; each promise settles to the host's state, or undefined when it failed. */
export function prefetchEtcd(
  hosts: Iterable<HostChannel>,
  version: string,
  artifact: () => Promise<EtcdArtifact>,
): Map<string, Promise<TarballState | undefined>> {
  return new Map(
    [...hosts].map((ch) => [ch.spec.name, prefetchOne(ch, version, artifact).catch(() => undefined)]),
  );
}

/** Every host's tarball prefetch started at once, as deploy's plan starts those not started yet. */
import {
  TarballPrefetch,
  type TarballSource,
  type TarballState,
} from '../../../../controller/plays/etcd-prefetch.ts';
import type { HostChannel } from '../../../../controller/plays/session.ts';
import type { RelayBoard } from '../../../../controller/transfer/relay-board.ts';

export function prefetchAll(
  hosts: HostChannel[],
  version: string,
  source: TarballSource,
  relay?: RelayBoard,
): Map<string, Promise<TarballState | undefined>> {
  const prefetch = new TarballPrefetch(version, source);
  for (const ch of hosts) prefetch.start(ch, relay);
  return prefetch.prefetched;
}

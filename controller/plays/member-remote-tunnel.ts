/**
 * A member's client URL reached from another host's SSH connection (direct-tcpip to the member's
 * address): for members whose own host is not in the inventory or not reachable over SSH.
 * (controller/etcd-tunnel.ts reaches a host's own loopback port; this reaches a peer's address.)
 */
import type { Socket } from 'node:net';
import { Client } from 'undici';
import type { HostConnection } from '../connect/types.ts';
import type { EtcdEndpoint } from '../etcd/index.ts';

export interface RemoteTunnel {
  endpoint: EtcdEndpoint;
  close(): Promise<void>;
}

export function openRemoteTunnel(via: HostConnection, name: string, clientUrl: string): RemoteTunnel {
  const url = new URL(clientUrl);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const dispatcher = new Client(url.origin, {
    connect: (_options, callback) => {
      via.openTcp(host, port).then(
        (stream) => callback(null, stream as Socket),
        (err: Error) => callback(err, null),
      );
    },
    pipelining: 1,
  });
  return {
    endpoint: { name: `${name} (via ${via.host})`, url: url.origin, dispatcher },
    close: () => dispatcher.close().catch(() => undefined),
  };
}

/**
 * etcd as seen through a host's SSH connection: an undici Client whose sockets are direct-tcpip
 * channels to 127.0.0.1:<clientPort> on the host (the loopback client URL every member listens on).
 * The controller never needs a route to the hosts' etcd ports.
 */
import type { Socket } from 'node:net';
import { Client } from 'undici';
import type { HostConnection } from './connect/types.ts';
import type { EtcdEndpoint } from './etcd/index.ts';
import type { Inventory } from './inventory/model.ts';
import { loopbackClientUrl } from './render/urls.ts';

export interface EtcdTunnel {
  endpoint: EtcdEndpoint;
  close(): Promise<void>;
}

/** An endpoint named after the host whose every HTTP connection is an SSH channel to its loopback client port. */
export function openEtcdTunnel(conn: HostConnection, inv: Inventory): EtcdTunnel {
  const url = loopbackClientUrl(inv);
  const port = inv.cluster.clientPort;
  const dispatcher = new Client(url, {
    connect: (_options, callback) => {
      conn.openTcp('127.0.0.1', port).then(
        // undici's HTTP/1 client needs only a Duplex (write, cork/uncork, destroy) from its socket.
        (stream) => callback(null, stream as Socket),
        (err: Error) => callback(err, null),
      );
    },
    pipelining: 1,
    keepAliveTimeout: 30_000,
  });
  return {
    endpoint: { name: conn.host, url, dispatcher },
    close: () => dispatcher.close().catch(() => undefined),
  };
}

/** One tunnel per host, closed together. */
export class EtcdTunnels {
  readonly #tunnels = new Map<string, EtcdTunnel>();
  readonly #inv: Inventory;

  constructor(inv: Inventory) {
    this.#inv = inv;
  }

  endpoint(conn: HostConnection): EtcdEndpoint {
    let t = this.#tunnels.get(conn.host);
    if (!t) {
      t = openEtcdTunnel(conn, this.#inv);
      this.#tunnels.set(conn.host, t);
    }
    return t.endpoint;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#tunnels.values()].map((t) => t.close()));
    this.#tunnels.clear();
  }
}

/**
 * etcd as seen through a host's SSH connection: an undici Client whose sockets are direct-tcpip
 * channels to 127.0.0.1:<clientPort> on the host (the loopback client URL every member listens on),
 * or, for a member whose own host cannot be used, to that member's client URL as the host sees it.
 * The controller never needs a route to the hosts' etcd ports.
 */
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { Client } from 'undici';
import type { HostConnection } from './connect/types.ts';
import { InputError } from './errors.ts';
import type { EtcdEndpoint } from './etcd/index.ts';
import type { Inventory } from './inventory/model.ts';
import { readPkiFile } from './pki/files.ts';
import { CA_FILES, CLIENT_FILES } from './pki/layout.ts';
import { currentTrust } from './pki/material.ts';
import { loopbackClientUrl } from './render/urls.ts';

export interface EtcdTunnel {
  endpoint: EtcdEndpoint;
  close(): Promise<void>;
}

/** A member reached through another host's connection (its own host is not in the inventory or not reachable). */
export interface TunnelTarget {
  /** The member's name (or hex ID), for messages. */
  name: string;
  /** Its client URL, connected to from the host at the other end of the SSH connection. */
  clientUrl: string;
}

/** tskv's client identity and the CA certificates it trusts (tls.mode auto: the controller's PKI folder). */
export interface ClientIdentity {
  ca: string;
  cert: string;
  key: string;
}

/**
 * The PKI folder's client identity and trust as they are now (during a CA rotation it trusts both
 * CAs, and the identity changes CA in the middle); an InputError naming the folder when it is not
 * there yet.
 */
export async function readClientIdentity(inv: Inventory): Promise<ClientIdentity> {
  const dir = inv.tls.dir;
  const [{ trust }, cert, key] = await Promise.all([
    currentTrust(dir),
    readPkiFile(join(dir, CLIENT_FILES.cert), 'cert'),
    readPkiFile(join(dir, CLIENT_FILES.key), 'key'),
  ]);
  if (trust === undefined || cert === undefined || key === undefined) throw noPki(inv);
  return { ca: trust, cert, key };
}

/** The client identity's files the PKI folder lacks. */
const missingIdentity = (inv: Inventory) =>
  [CA_FILES.cert, CLIENT_FILES.cert, CLIENT_FILES.key].filter((f) => !existsSync(join(inv.tls.dir, f)));

function noPki(inv: Inventory): InputError {
  const missing = missingIdentity(inv).join(', ') || 'client identity';
  return new InputError(`the PKI folder ${inv.tls.dir} has no ${missing}`, {
    fix: `run 'tskv deploy ${inv.file}' to create the PKI, or point tls.dir at it`,
  });
}

/**
 * TLS over an SSH channel, verified as a connection to `host` would be: the member's certificate
 * must be of tskv's CA and name `host` (127.0.0.1 for the loopback URL, else the member's address).
 */
function overTls(stream: Duplex, host: string, identity: ClientIdentity): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ socket: stream, host, ...identity });
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * An endpoint whose every HTTP connection is an SSH channel from `conn`'s host: to its own
 * loopback client port (named after the host), or to `target`'s client URL ("NAME (via HOST)").
 * With TLS on, each channel carries TLS with tskv's client certificate.
 */
export function openEtcdTunnel(conn: HostConnection, inv: Inventory, target?: TunnelTarget): EtcdTunnel {
  const url = new URL(target?.clientUrl ?? loopbackClientUrl(inv));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const tls = url.protocol === 'https:';
  // A PKI folder that is not there is said at once, not as connections that fail.
  if (tls && missingIdentity(inv).length > 0) throw noPki(inv);
  const dispatcher = new Client(url.origin, {
    connect: (_options, callback) => {
      // Read for every connection: a rotation changes the trust and the identity while tskv runs.
      (tls ? readClientIdentity(inv) : Promise.resolve(undefined))
        .then(async (identity) => {
          const stream = await conn.openTcp(host, port);
          // undici's HTTP/1 client needs only a Duplex (write, cork/uncork, destroy) from its socket.
          return identity ? overTls(stream, host, identity) : (stream as Socket);
        })
        .then(
          (socket) => callback(null, socket),
          (err: Error) => callback(err, null),
        );
    },
    pipelining: 1,
    keepAliveTimeout: 30_000,
  });
  return {
    endpoint: { name: target ? `${target.name} (via ${conn.host})` : conn.host, url: url.origin, dispatcher },
    close: () => dispatcher.close().catch(() => undefined),
  };
}

/** One tunnel per host (and per member reached through another host), closed together. */
export class EtcdTunnels {
  readonly #tunnels = new Map<string, EtcdTunnel>();
  readonly #inv: Inventory;

  constructor(inv: Inventory) {
    this.#inv = inv;
  }

  endpoint(conn: HostConnection, target?: TunnelTarget): EtcdEndpoint {
    const key = target ? `${target.clientUrl} via ${conn.host}` : conn.host;
    let t = this.#tunnels.get(key);
    if (!t) {
      t = openEtcdTunnel(conn, this.#inv, target);
      this.#tunnels.set(key, t);
    }
    return t.endpoint;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#tunnels.values()].map((t) => t.close()));
    this.#tunnels.clear();
  }
}

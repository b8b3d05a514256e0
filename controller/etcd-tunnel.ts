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
import { clientTlsSources } from './pki/sources.ts';
import { loopbackClientUrl, type Scheme, scheme } from './render/urls.ts';

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

/**
 * tskv's client identity and the CA certificates it trusts: the PKI folder's (during a CA rotation
 * both CAs), or tls.ca and tls.client with tls.mode files.
 */
export interface ClientIdentity {
  ca: string;
  cert: string;
  key: string;
}

/**
 * The client identity and trust as they are now (during a CA rotation the PKI folder trusts both
 * CAs, and the identity changes CA in the middle); an InputError naming what is not there (yet).
 */
export async function readClientIdentity(inv: Inventory): Promise<ClientIdentity> {
  if (inv.tls.mode === 'files') {
    const files = clientTlsSources(inv);
    const [ca, cert, key] = await Promise.all([
      readPkiFile(files.ca, 'cert'),
      readPkiFile(files.cert, 'cert'),
      readPkiFile(files.key, 'key'),
    ]);
    if (ca === undefined || cert === undefined || key === undefined) {
      const missing = [files.ca, files.cert, files.key].filter((f) => !existsSync(f));
      throw new InputError(`cannot read ${missing.join(', ') || 'the client identity'}`, {
        fix: `put it there, or correct tls.ca and tls.client in ${inv.file}`,
      });
    }
    return { ca, cert, key };
  }
  const dir = inv.tls.dir;
  const [{ trust }, cert, key] = await Promise.all([
    currentTrust(dir),
    readPkiFile(join(dir, CLIENT_FILES.cert), 'cert'),
    readPkiFile(join(dir, CLIENT_FILES.key), 'key'),
  ]);
  if (trust === undefined || cert === undefined || key === undefined) throw noPki(inv);
  return { ca: trust, cert, key };
}

function noPki(inv: Inventory): InputError {
  const missing = [CA_FILES.cert, CLIENT_FILES.cert, CLIENT_FILES.key].filter(
    (f) => !existsSync(join(inv.tls.dir, f)),
  );
  return new InputError(`the PKI folder ${inv.tls.dir} has no ${missing.join(', ') || 'client identity'}`, {
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
export function openEtcdTunnel(
  conn: HostConnection,
  inv: Inventory,
  target?: TunnelTarget,
  loopbackScheme: Scheme = scheme(inv),
): EtcdTunnel {
  const url = new URL(target?.clientUrl ?? loopbackClientUrl(inv, loopbackScheme));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  const tls = url.protocol === 'https:';
  const dispatcher = new Client(url.origin, {
    connect: (_options, callback) => {
      // Read for every connection: a rotation changes the trust and the identity while tskv runs,
      // and a tunnel may be opened before deploy makes the PKI.
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
  /** Hosts whose member serves its loopback client URL in another scheme than the inventory's (a TLS migration). */
  readonly #schemes = new Map<string, Scheme>();

  constructor(inv: Inventory) {
    this.#inv = inv;
  }

  endpoint(conn: HostConnection, target?: TunnelTarget): EtcdEndpoint {
    const key = target ? `${target.clientUrl} via ${conn.host}` : conn.host;
    let t = this.#tunnels.get(key);
    if (!t) {
      t = openEtcdTunnel(conn, this.#inv, target, this.#schemes.get(conn.host));
      this.#tunnels.set(key, t);
    }
    return t.endpoint;
  }

  /**
   * The scheme `host`'s member serves on its loopback client URL, as its env file (read by the
   * agent, so not anyone's word on the network) says: its tunnel is opened again when it changes.
   */
  useScheme(host: string, loopback: Scheme): void {
    const was = this.#schemes.get(host) ?? scheme(this.#inv);
    this.#schemes.set(host, loopback);
    if (was === loopback) return;
    const t = this.#tunnels.get(host);
    this.#tunnels.delete(host);
    void t?.close();
  }

  async close(): Promise<void> {
    await Promise.all([...this.#tunnels.values()].map((t) => t.close()));
    this.#tunnels.clear();
  }
}

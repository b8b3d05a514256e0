import { isIPv6 } from 'node:net';
import type { HostSpec, Inventory } from '../inventory/model.ts';
import { tlsOn } from '../inventory/tls.ts';

/**
 * Every etcd URL tskv hands out is built here, so switching to TLS (https and certificate
 * flags) happens in one place.
 */
export type Scheme = 'http' | 'https';

export function scheme(inv: Inventory): Scheme {
  return tlsOn(inv) ? 'https' : 'http';
}

/** host:port, with IPv6 addresses in brackets. */
export function hostPort(address: string, port: number): string {
  return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

export function peerUrl(host: HostSpec, inv: Inventory, as: Scheme = scheme(inv)): string {
  return `${as}://${hostPort(host.address, inv.cluster.peerPort)}`;
}

export function clientUrl(host: HostSpec, inv: Inventory, as: Scheme = scheme(inv)): string {
  return `${as}://${hostPort(host.address, inv.cluster.clientPort)}`;
}

/** The loopback client URL every member also listens on (the seed's http://127.0.0.1:2379). */
export function loopbackClientUrl(inv: Inventory, as: Scheme = scheme(inv)): string {
  return `${as}://${hostPort('127.0.0.1', inv.cluster.clientPort)}`;
}

import type { Inventory } from './model.ts';

/**
 * Whether the cluster speaks TLS (tls.mode auto or files): https URLs, certificates placed on the
 * hosts, tskv's own connections with its client certificate. The one test of it.
 */
export function tlsOn(inv: Pick<Inventory, 'tls'>): boolean {
  return inv.tls.mode !== 'off';
}

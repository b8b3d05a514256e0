/**
 * tls.mode when the inventory names none, and the one warning an unauthenticated cluster gets.
 * A cluster tskv bootstraps gets auto (deploy decides, seeing no member ran before); one whose PKI
 * folder exists was bootstrapped so; anything else is a cluster from a tskv before TLS was the
 * default, which stays on plain HTTP until the inventory says auto (no surprise migration).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CA_FILES } from '../pki/layout.ts';
import type { Inventory } from './model.ts';

/** Undeclared and a PKI folder with a CA beside the inventory: the cluster was made with TLS. */
export function settleUndeclaredTls(inv: Inventory): Inventory {
  if (inv.tls.declared || !existsSync(join(inv.tls.dir, CA_FILES.cert))) return inv;
  return { ...inv, tls: { ...inv.tls, mode: 'auto' } };
}

/** The line that moves the cluster to TLS (deploy then migrates it with rolling restarts). */
export const TLS_AUTO_LINE = 'tls: { mode: auto }';

/** The warning for a cluster on plain HTTP, or undefined with TLS on. Printed once per command. */
export function plaintextWarning(inv: Inventory): string | undefined {
  if (inv.tls.mode !== 'off') return undefined;
  return inv.tls.declared
    ? `warning: ${inv.file}: tls.mode off: etcd serves plain HTTP without authentication; anyone who reaches port ${inv.cluster.clientPort} or ${inv.cluster.peerPort} can read and change every key; set tls.mode to auto and run 'tskv deploy' to move the cluster to TLS with rolling restarts`
    : `warning: ${inv.file}: the cluster runs plain HTTP without authentication (it ran before TLS became tskv's default, and ${inv.tls.dir} holds no PKI); add the line '${TLS_AUTO_LINE}' at the top level of ${inv.file} and run 'tskv deploy' to move it to TLS with rolling restarts`;
}

/** The warnings a command prints once, on stderr, before it starts: the inventory's, and plain HTTP's. */
import type { Inventory } from '../inventory/model.ts';
import { plaintextWarning } from '../inventory/tls-default.ts';

/**
 * `plaintext`: also warn that the cluster is unauthenticated (deploy says so once it knows whether
 * it bootstraps a new, TLS, cluster; preflight only where the inventory itself says off).
 */
export function printWarnings(inv: Inventory, options: { plaintext: boolean }): void {
  for (const warning of inv.warnings) process.stderr.write(`${warning}\n`);
  const plain = options.plaintext ? plaintextWarning(inv) : undefined;
  if (plain) process.stderr.write(`${plain}\n`);
}

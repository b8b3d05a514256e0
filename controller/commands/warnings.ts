/** The warnings a command prints once, on stderr, before it starts: the inventory's, and plain HTTP's. */
import type { Inventory } from '../inventory/model.ts';
import { plaintextWarning } from '../inventory/tls-default.ts';
import { NO_SNAPSHOT_WARNING } from '../ops/snapshot-step.ts';

/**
 * `plaintext`: also warn that the cluster is unauthenticated (deploy says so once it knows whether
 * it bootstraps a new, TLS, cluster; preflight only where the inventory itself says off).
 */
export function printWarnings(inv: Inventory, options: { plaintext: boolean }): void {
  for (const warning of inv.warnings) process.stderr.write(`${warning}\n`);
  const plain = options.plaintext ? plaintextWarning(inv) : undefined;
  if (plain) process.stderr.write(`${plain}\n`);
}

/** --no-snapshot: whether the automatic snapshot is skipped, said once with its warning when it is. */
export function skipsSnapshot(values: { 'no-snapshot'?: boolean | undefined }): boolean {
  const skip = values['no-snapshot'] ?? false;
  if (skip) process.stderr.write(`warning: ${NO_SNAPSHOT_WARNING}\n`);
  return skip;
}

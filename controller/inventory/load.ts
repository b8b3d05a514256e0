import { InputError } from '../errors.ts';
import { BoundedReadError, MIB, readBoundedFile } from './bounded-read.ts';
import { crossChecks } from './cross-checks.ts';
import { etcdSourceProblems } from './etcd-source.ts';
import { zodProblems } from './issues.ts';
import type { Inventory } from './model.ts';
import { normalise } from './normalise.ts';
import { formatProblem, InventoryError, type PathProblem, sortProblems } from './problems.ts';
import { inventorySchema } from './schema.ts';
import { settleUndeclaredTls } from './tls-default.ts';
import { firstInvalidUtf8 } from './utf8.ts';
import { parseYaml } from './yaml-doc.ts';

export type { Problem } from './problems.ts';
export { InventoryError } from './problems.ts';

/** An inventory is a few kilobytes; 1,000 hosts take about 40 KiB. */
export const INVENTORY_MAX_BYTES = 4 * MIB;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The file's bytes as text, or the place of the first byte that is not UTF-8 (TextDecoder would say U+FFFD). */
function decodeInventory(bytes: Uint8Array, file: string): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    const at = Math.max(0, firstInvalidUtf8(bytes));
    const lineStart = bytes.lastIndexOf(0x0a, at - 1) + 1;
    let line = 1;
    for (let i = 0; i < lineStart; i++) if (bytes[i] === 0x0a) line++;
    const column = UTF8.decode(bytes.subarray(lineStart, at)).length + 1;
    const byte = `0x${bytes[at]!.toString(16).toUpperCase().padStart(2, '0')}`;
    throw new InventoryError(file, [
      {
        line,
        column,
        message: `byte ${byte} here is not valid UTF-8; save the inventory as UTF-8 (an editor set to Latin-1 or Windows-1252 writes such bytes)`,
      },
    ]);
  }
}

/** Parses and validates an inventory (its bytes, or text); `file` names it in messages and anchors its relative paths. */
export function parseInventory(content: string | Uint8Array, file: string): Inventory {
  const text = typeof content === 'string' ? content : decodeInventory(content, file);
  const yaml = parseYaml(text);
  if (yaml.syntaxProblems.length > 0) throw new InventoryError(file, sortProblems(yaml.syntaxProblems));

  const result = inventorySchema.safeParse(yaml.data);
  const found: PathProblem[] = result.success ? [] : zodProblems(result.error.issues, yaml.data);
  const checks = crossChecks(yaml.data);
  const problems = sortProblems([
    ...yaml.duplicateProblems,
    ...[...found, ...checks.problems, ...etcdSourceProblems(yaml.data)].map(yaml.place),
  ]);
  if (problems.length > 0 || !result.success) throw new InventoryError(file, problems);

  const warnings = sortProblems(checks.warnings.map(yaml.place)).map(
    (p) => `${formatProblem(file, { ...p, message: `warning: ${p.message}` })}`,
  );
  const lineOf = (path: (string | number)[]): number | undefined =>
    yaml.place({ path, at: 'key', message: '' }).line;
  return normalise(result.data, file, warnings, lineOf);
}

/** Reads, parses and validates an inventory file. Throws InputError (exit 2) for anything wrong with it. */
export async function loadInventory(file: string): Promise<Inventory> {
  let text: Uint8Array;
  try {
    text = await readBoundedFile(file, { maxBytes: INVENTORY_MAX_BYTES });
  } catch (err) {
    if (!(err instanceof BoundedReadError)) throw err;
    throw new InputError(`cannot read inventory ${file}: ${err.reason}`, {
      fix: 'pass the path of an inventory YAML file (see inventories/seed.yaml)',
    });
  }
  return settleUndeclaredTls(parseInventory(text, file));
}

import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.ts';
import { crossChecks } from './cross-checks.ts';
import { etcdSourceProblems } from './etcd-source.ts';
import { zodProblems } from './issues.ts';
import type { Inventory } from './model.ts';
import { normalise } from './normalise.ts';
import { formatProblem, InventoryError, type PathProblem, sortProblems } from './problems.ts';
import { inventorySchema } from './schema.ts';
import { parseYaml } from './yaml-doc.ts';

export type { Problem } from './problems.ts';
export { InventoryError } from './problems.ts';

/** Parses and validates inventory text; `file` names it in messages and anchors its relative paths. */
export function parseInventory(text: string, file: string): Inventory {
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
  return normalise(result.data, file, warnings);
}

function readProblem(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a folder, not a file';
    default:
      return err.message;
  }
}

/** Reads, parses and validates an inventory file. Throws InputError (exit 2) for anything wrong with it. */
export async function loadInventory(file: string): Promise<Inventory> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read inventory ${file}: ${readProblem(err as NodeJS.ErrnoException)}`, {
      fix: 'pass the path of an inventory YAML file (see inventories/seed.yaml)',
    });
  }
  return parseInventory(text, file);
}

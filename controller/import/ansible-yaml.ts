/** Ansible's YAML inventory format: groups of { hosts, vars, children }, as ansible's yaml plugin reads it. */
import { isMap, isScalar, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml';
import { InputError } from '../errors.ts';
import { type AnsibleInventory, addHost, emptyInventory, groupOf } from './ansible-model.ts';
import { expandHostPattern } from './ansible-ranges.ts';

const GROUP_KEYS = new Set(['hosts', 'vars', 'children']);

export function parseAnsibleYaml(text: string, file: string): AnsibleInventory {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const lineOf = (node: unknown): number => {
    const range = (node as Node | null | undefined)?.range;
    return range ? lineCounter.linePos(range[0]).line : 1;
  };
  const fail = (node: unknown, message: string): never => {
    throw new InputError(`${file}:${lineOf(node)}: ${message}`);
  };
  const first = doc.errors[0];
  if (first) {
    throw new InputError(
      `${file}:${lineCounter.linePos(first.pos[0]).line}: YAML syntax error: ${first.message.split('\n')[0]}`,
    );
  }
  const inv = emptyInventory(file);
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return inv;
  if (!isMap(root))
    fail(root, 'an Ansible YAML inventory is a map of group names (e.g. all:) to { hosts, vars, children }');

  const keyOf = (pairKey: unknown): string => {
    if (!isScalar(pairKey) || (typeof pairKey.value !== 'string' && typeof pairKey.value !== 'number')) {
      return fail(pairKey, 'expected a name here');
    }
    return String(pairKey.value);
  };
  const plainVars = (node: unknown, what: string): Record<string, unknown> => {
    if (node === null || node === undefined || (isScalar(node) && node.value === null))
      return Object.create(null);
    if (!isMap(node)) fail(node, `${what} must be a map of variable names to values`);
    const out: Record<string, unknown> = Object.create(null);
    Object.assign(out, (node as YAMLMap).toJSON());
    return out;
  };

  const readGroup = (name: string, node: unknown): void => {
    groupOf(inv, name);
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return;
    if (!isMap(node)) fail(node, `group ${name} must be a map with hosts, vars or children`);
    for (const pair of (node as YAMLMap).items) {
      const key = keyOf(pair.key);
      if (!GROUP_KEYS.has(key)) {
        fail(
          pair.key,
          `group ${name} has '${key}': a group has only hosts, vars and children (is it indented one level too deep or too shallow?)`,
        );
      }
      const value = pair.value;
      if (key === 'vars') Object.assign(groupOf(inv, name).vars, plainVars(value, `${name}'s vars`));
      else if (key === 'hosts') readHosts(name, value);
      else readChildren(name, value);
    }
  };
  const readHosts = (group: string, node: unknown): void => {
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return;
    if (!isMap(node))
      fail(node, `${group}'s hosts must be a map of host names (each 'name:' or 'name: { vars }')`);
    for (const pair of (node as YAMLMap).items) {
      const pattern = keyOf(pair.key);
      const expanded = expandHostPattern(pattern);
      if ('problem' in expanded) fail(pair.key, expanded.problem);
      const vars = plainVars(pair.value, `host ${pattern}`);
      for (const host of (expanded as { hosts: string[] }).hosts)
        addHost(inv, group, host, { ...vars }, lineOf(pair.key));
    }
  };
  const readChildren = (group: string, node: unknown): void => {
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return;
    if (!isMap(node)) fail(node, `${group}'s children must be a map of group names`);
    for (const pair of (node as YAMLMap).items) {
      const child = keyOf(pair.key);
      groupOf(inv, group).children.add(child);
      readGroup(child, pair.value);
    }
  };

  for (const pair of (root as YAMLMap).items) readGroup(keyOf(pair.key), pair.value);
  return inv;
}

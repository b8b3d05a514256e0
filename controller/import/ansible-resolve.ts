/** Which hosts a group holds and the variables each ends up with, by Ansible's precedence. */
import type { AnsibleInventory, AnsibleVars } from './ansible-model.ts';

/** Each group's depth below `all` (all 0; a group nobody lists as a child 1; a child one deeper than its deepest parent). */
function depths(inv: AnsibleInventory): Map<string, number> {
  const depth = new Map<string, number>([['all', 0]]);
  const parents = new Map<string, string[]>();
  for (const g of inv.groups.values()) {
    for (const c of g.children) parents.set(c, [...(parents.get(c) ?? []), g.name]);
  }
  const visit = (name: string, seen: Set<string>): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) return 1; // a children loop: Ansible refuses it; the group sits under all here
    seen.add(name);
    const ps = (parents.get(name) ?? []).filter((p) => p !== name);
    const d = ps.length === 0 ? 1 : Math.max(...ps.map((p) => visit(p, seen))) + 1;
    depth.set(name, d);
    return d;
  };
  for (const name of inv.groups.keys()) visit(name, new Set());
  return depth;
}

/** The hosts of `group`, its children's included, in the order the file first names them. */
export function hostsOf(inv: AnsibleInventory, group: string): string[] {
  if (group === 'all') return [...inv.hostVars.keys()];
  const found = new Set<string>();
  const walk = (name: string, seen: Set<string>) => {
    if (seen.has(name)) return;
    seen.add(name);
    const g = inv.groups.get(name);
    if (!g) return;
    for (const h of g.hosts) found.add(h);
    for (const c of g.children) walk(c, seen);
  };
  walk(group, new Set());
  return [...inv.hostVars.keys()].filter((h) => found.has(h));
}

/** The groups `host` is in, directly or through children, `all` included. */
function groupsOfHost(inv: AnsibleInventory, host: string): string[] {
  return [...inv.groups.keys()].filter((g) => g !== 'all' && hostsOf(inv, g).includes(host)).concat('all');
}

/** Ansible's order: all, then groups by depth (deeper wins), same depth by name (later wins), then host vars. */
export function hostVars(inv: AnsibleInventory, host: string): AnsibleVars {
  const depth = depths(inv);
  const groups = groupsOfHost(inv, host).sort(
    (a, b) => (depth.get(a) ?? 1) - (depth.get(b) ?? 1) || (a < b ? -1 : a > b ? 1 : 0),
  );
  const vars: AnsibleVars = Object.create(null);
  for (const g of groups) Object.assign(vars, inv.groups.get(g)?.vars ?? {});
  Object.assign(vars, inv.hostVars.get(host) ?? {});
  return vars;
}

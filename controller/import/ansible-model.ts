/** An Ansible inventory as read from INI or YAML, before tskv looks at it. */

export type AnsibleVars = Record<string, unknown>;

export interface AnsibleGroup {
  name: string;
  /** Hosts listed directly in the group. */
  hosts: Set<string>;
  children: Set<string>;
  vars: AnsibleVars;
}

export interface AnsibleInventory {
  /** The file it was read from, for messages. */
  file: string;
  groups: Map<string, AnsibleGroup>;
  /** Host vars as written on the host's own line or entry (merged over every occurrence). */
  hostVars: Map<string, AnsibleVars>;
  /** Where each host first appears (line), for messages. */
  hostLines: Map<string, number>;
}

export function emptyInventory(file: string): AnsibleInventory {
  return { file, groups: new Map(), hostVars: new Map(), hostLines: new Map() };
}

export function groupOf(inv: AnsibleInventory, name: string): AnsibleGroup {
  let group = inv.groups.get(name);
  if (!group) {
    group = { name, hosts: new Set(), children: new Set(), vars: Object.create(null) };
    inv.groups.set(name, group);
  }
  return group;
}

export function addHost(
  inv: AnsibleInventory,
  group: string,
  host: string,
  vars: AnsibleVars,
  line: number,
): void {
  groupOf(inv, group).hosts.add(host);
  const own = inv.hostVars.get(host) ?? Object.create(null);
  Object.assign(own, vars);
  inv.hostVars.set(host, own);
  if (!inv.hostLines.has(host)) inv.hostLines.set(host, line);
}

/** A tskv inventory for one group of an Ansible inventory, with comments naming what did not carry over. */
import { stringify } from 'yaml';
import { InputError } from '../errors.ts';
import { isMemberAddress } from '../inventory/addresses.ts';
import type { AnsibleInventory, AnsibleVars } from './ansible-model.ts';
import { hostsOf, hostVars } from './ansible-resolve.ts';
import { parseSshArgs } from './ansible-ssh-args.ts';

export interface ImportOptions {
  group: string;
  etcdVersion: string;
  /** Notes about the source beyond its variables (e.g. group_vars/ folders not read). */
  extraNotes?: string[];
}

type Ssh = Record<string, string | number>;

/** Variables tskv reads here; anything else is named as not carried. */
const CARRIED = new Set([
  'ansible_host',
  'ansible_ssh_host',
  'ansible_port',
  'ansible_ssh_port',
  'ansible_user',
  'ansible_ssh_user',
  'ansible_ssh_private_key_file',
  'ansible_private_key_file',
  'ansible_ssh_common_args',
  'ansible_ssh_extra_args',
  'ansible_become',
  'ansible_become_method',
  'ansible_become_user',
  'ansible_connection',
  'etcd_member_name',
]);

const SECRET = /pass|secret|token|key_?data|vault/i;

function truthy(v: unknown): boolean {
  return v === true || v === 1 || (typeof v === 'string' && /^(true|yes|on|1)$/i.test(v));
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
}

class Notes {
  readonly #byWhat = new Map<string, string[]>();
  add(host: string, what: string): void {
    this.#byWhat.set(what, [...(this.#byWhat.get(what) ?? []), host]);
  }
  lines(all: number): string[] {
    return [...this.#byWhat].map(([what, hosts]) =>
      hosts.length === all && all > 1 ? `${what} (all hosts)` : `${what} (${hosts.join(', ')})`,
    );
  }
}

function hostSsh(host: string, vars: AnsibleVars, notes: Notes): Ssh {
  const ssh: Ssh = {};
  for (const k of ['ansible_ssh_common_args', 'ansible_ssh_extra_args']) {
    const raw = vars[k];
    if (raw === undefined || raw === '') continue;
    const parsed = parseSshArgs(String(raw));
    if ('problem' in parsed) {
      notes.add(host, `${k}: could not read it (${parsed.problem})`);
      continue;
    }
    for (const key of [
      'proxyCommand',
      'proxyJump',
      'knownHosts',
      'hostKeyPolicy',
      'connectTimeout',
      'port',
      'user',
      'identityFile',
    ] as const) {
      const v = parsed[key];
      if (v !== undefined) ssh[key] = v;
    }
    for (const d of parsed.dropped) notes.add(host, `${k} option ${d}`);
  }
  const port = text(vars.ansible_port ?? vars.ansible_ssh_port);
  if (port !== undefined) {
    if (/^[0-9]+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535) ssh.port = Number(port);
    else notes.add(host, `ansible_port ${port} (not a port number)`);
  }
  const user = text(vars.ansible_user ?? vars.ansible_ssh_user);
  if (user !== undefined) ssh.user = user;
  const key = text(vars.ansible_ssh_private_key_file ?? vars.ansible_private_key_file);
  if (key !== undefined) ssh.identityFile = key;
  for (const field of ['identityFile', 'knownHosts'] as const) {
    const path = ssh[field];
    if (typeof path === 'string' && !path.startsWith('/') && !path.startsWith('~')) {
      notes.add(
        host,
        `${field} ${path} is relative: Ansible reads it from where it runs, tskv beside the inventory it wrote`,
      );
    }
  }
  if (ssh.proxyCommand !== undefined && ssh.proxyJump !== undefined) {
    notes.add(host, 'ProxyJump (ProxyCommand given too, which OpenSSH also prefers when both are set)');
    delete ssh.proxyJump;
  }
  return ssh;
}

function becomeNotes(host: string, vars: AnsibleVars, ssh: Ssh, notes: Notes): void {
  const user = ssh.user ?? 'root';
  const becomeUser = text(vars.ansible_become_user);
  if (becomeUser !== undefined && becomeUser !== 'root')
    notes.add(host, `ansible_become_user ${becomeUser} (tskv becomes root)`);
  const method = text(vars.ansible_become_method);
  if (method !== undefined && method !== 'sudo')
    notes.add(host, `ansible_become_method ${method} (tskv uses sudo -n)`);
  if (user !== 'root' && vars.ansible_become !== undefined && !truthy(vars.ansible_become)) {
    notes.add(
      host,
      `ansible_become false: tskv still runs root commands through passwordless sudo as ${user}`,
    );
  }
  const connection = text(vars.ansible_connection);
  if (connection !== undefined && !['ssh', 'smart', 'paramiko'].includes(connection)) {
    notes.add(host, `ansible_connection ${connection} (tskv connects over SSH)`);
  }
}

/** The fields every host has with one value go to the inventory's ssh; the rest stay on the host. */
function hoist(perHost: Map<string, Ssh>): Ssh {
  const shared: Ssh = {};
  const all = [...perHost.values()];
  const keys = new Set(all.flatMap((s) => Object.keys(s)));
  for (const k of keys) {
    const first = all[0]?.[k];
    if (first !== undefined && all.every((s) => s[k] === first)) {
      shared[k] = first;
      for (const s of all) delete s[k];
    }
  }
  return shared;
}

export interface Imported {
  text: string;
  hosts: string[];
  notes: string[];
}

export function toTskvInventory(inv: AnsibleInventory, options: ImportOptions): Imported {
  const { group } = options;
  if (group !== 'all' && !inv.groups.has(group)) {
    const known = [...inv.groups.keys()].filter((g) => g !== 'ungrouped');
    throw new InputError(
      `${inv.file}: has no group '${group}' (its groups: ${known.join(', ') || 'none'}); choose one with --group`,
    );
  }
  const names = hostsOf(inv, group);
  if (names.length === 0) {
    throw new InputError(
      `${inv.file}: group '${group}' has no hosts (commented out?): a tskv inventory needs at least one`,
    );
  }
  const notes = new Notes();
  const perHost = new Map<string, Ssh>();
  const hosts: Record<string, { address: string; ssh?: Ssh }> = {};
  const memberOf = new Map<string, string>();
  for (const name of names) {
    const vars = hostVars(inv, name);
    const address = text(vars.ansible_host ?? vars.ansible_ssh_host) ?? name;
    if (!isMemberAddress(address)) {
      throw new InputError(
        `${inv.file}:${inv.hostLines.get(name)}: host ${name}: '${address}' is not an IP address or DNS name tskv can use`,
      );
    }
    const ssh = hostSsh(name, vars, notes);
    becomeNotes(name, vars, ssh, notes);
    for (const k of Object.keys(vars).sort()) {
      if (CARRIED.has(k)) continue;
      notes.add(name, SECRET.test(k) ? `${k} (value not shown)` : `${k}=${JSON.stringify(vars[k])}`);
    }
    // kubespray names etcd members with etcd_member_name: keep the name etcd knows.
    const member = text(vars.etcd_member_name) || name;
    if (memberOf.has(member)) {
      throw new InputError(
        `${inv.file}:${inv.hostLines.get(name)}: hosts ${memberOf.get(member)} and ${name} have the same member name ${member}`,
      );
    }
    memberOf.set(member, name);
    perHost.set(member, ssh);
    hosts[member] = { address };
  }
  const shared = hoist(perHost);
  for (const [member, ssh] of perHost) if (Object.keys(ssh).length > 0) hosts[member]!.ssh = ssh;

  const doc: Record<string, unknown> = {
    cluster: { token: `${group}-cluster` },
    etcd: { version: options.etcdVersion },
  };
  if (Object.keys(shared).length > 0) doc.ssh = shared;
  doc.hosts = hosts;

  const renamed = [...memberOf].filter(([m, h]) => m !== h).map(([m, h]) => `${h} as ${m}`);
  const noteLines = [...(options.extraNotes ?? []), ...notes.lines(names.length)];
  const header = [
    `# Imported by 'tskv import ansible' from ${inv.file}, group ${group}.`,
    '# Review before deploying: cluster.token names this cluster (unique per cluster), etcd.version is',
    "# tskv's choice (etcd.source may name a tarball).",
    ...(renamed.length > 0 ? [`# Member names from etcd_member_name: ${renamed.join(', ')}.`] : []),
    ...(noteLines.length > 0
      ? ['# Not carried over:', ...noteLines.map((l) => `#   ${l.replace(/\n/g, ' ')}`)]
      : ['# Everything the Ansible inventory said about these hosts was carried over.']),
  ];
  const body = stringify(doc, { lineWidth: 0 });
  return { text: `${header.join('\n')}\n${body}`, hosts: names, notes: noteLines };
}

import { InputError } from '../errors.ts';
import { loadInventory } from '../inventory/load.ts';
import type { SshSettings } from '../inventory/model.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import type { Command } from './types.ts';
import { printWarnings } from './warnings.ts';

const usage = `usage: tskv ssh-config INVENTORY [--host NAME]

Prints each host's effective SSH settings and where each came from: the inventory's per-host ssh,
the inventory's ssh, ssh_config (ssh.configFile, default ~/.ssh/config), or tskv's default, in that
order of precedence.`;

/** The settings shown, in order, with how each value reads. */
const ROWS: [
  label: string,
  source: string,
  value: (s: SshSettings, address: string) => string | undefined,
][] = [
  ['host', 'hostName', (s, address) => s.hostName ?? address],
  ['user', 'user', (s) => s.user],
  ['port', 'port', (s) => String(s.port)],
  ['identityFile', 'identityFile', (s) => s.identityFile ?? '(none: ssh-agent only)'],
  ['  then', 'identityFile', (s) => s.moreIdentityFiles?.join(', ')],
  ['identitiesOnly', 'identitiesOnly', (s) => (s.identitiesOnly ? 'yes' : undefined)],
  ['identityAgent', 'identityAgent', (s) => s.identityAgent],
  ['knownHosts', 'knownHosts', (s) => s.knownHosts],
  ['hostKeyPolicy', 'hostKeyPolicy', (s) => s.hostKeyPolicy],
  ['hostKeyAlias', 'hostKeyAlias', (s) => s.hostKeyAlias],
  ['proxyCommand', 'proxyCommand', (s) => s.proxyCommand],
  ['proxyJump', 'proxyJump', (s) => s.proxyJump],
  ['connectTimeout', 'connectTimeout', (s) => `${s.connectTimeoutMs / 1000}s`],
  [
    'keepaliveInterval',
    'keepaliveInterval',
    (s) => (s.keepaliveIntervalMs ? `${s.keepaliveIntervalMs / 1000}s` : undefined),
  ],
];

/** A host's settings, then each of its jump hosts' own (resolved for the hop's name), indented. */
export function describeSsh(name: string, address: string, ssh: SshSettings, indent = ''): string {
  const lines = [
    `${indent}${name} (${address})${ssh.sources?.['configFile'] && !indent ? `  ssh_config: ${ssh.sources['configFile']}` : ''}`,
  ];
  for (const [label, key, value] of ROWS) {
    const shown = value(ssh, address);
    if (shown === undefined) continue;
    const from = ssh.sources?.[key] ?? (key === 'hostName' ? 'inventory address' : 'default');
    lines.push(`${indent}  ${label.padEnd(18)} ${shown.padEnd(30)} ${from}`);
  }
  for (const hop of ssh.jumpHosts ?? []) {
    lines.push(describeSsh(`via ${hop.name}`, hop.address, hop.ssh, `${indent}  `));
  }
  return lines.join('\n');
}

const sshConfig: Command = {
  summary: "print each host's effective SSH settings and where each came from",
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { host: { type: 'string' } }, usage);
    const [file] = requirePositionals(positionals, ['INVENTORY'], usage);
    if (positionals.length > 1) throw new InputError(`unexpected argument '${positionals[1]}'\n${usage}`);
    const inv = await loadInventory(file!);
    printWarnings(inv, { plaintext: false });
    const hosts = values.host === undefined ? inv.hosts : inv.hosts.filter((h) => h.name === values.host);
    if (hosts.length === 0) {
      throw new InputError(
        `no host '${values.host}' in ${inv.file}; hosts: ${inv.hosts.map((h) => h.name).join(', ')}`,
      );
    }
    process.stdout.write(`${hosts.map((h) => describeSsh(h.name, h.address, h.ssh)).join('\n\n')}\n`);
    return 0;
  },
};

export default sshConfig;

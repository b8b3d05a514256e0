import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { InputError } from '../errors.ts';
import { parseAnsibleIni } from '../import/ansible-ini.ts';
import type { AnsibleInventory } from '../import/ansible-model.ts';
import { parseAnsibleYaml } from '../import/ansible-yaml.ts';
import { toTskvInventory } from '../import/to-tskv.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import type { Command } from './types.ts';

export const DEFAULT_ETCD_VERSION = '3.5.29';

const usage = `usage: tskv import ansible FILE [--group NAME] [--out FILE] [--etcd-version V]

Writes a tskv inventory for the hosts of one group (default etcd; its children's hosts too) of the
Ansible inventory FILE in INI or YAML form: ansible_host, ansible_port, ansible_user,
ansible_ssh_private_key_file, and from ansible_ssh_common_args/ansible_ssh_extra_args ProxyCommand,
ProxyJump (-J), UserKnownHostsFile, StrictHostKeyChecking and ConnectTimeout; group vars, children
and host vars apply as in Ansible. kubespray's etcd_member_name becomes the member name. Anything
it could not carry over is named in comments at the top. A non-root user reaches root through
passwordless sudo, as ansible_become with sudo does.
  --group NAME        the Ansible group of the etcd members (default etcd; 'all' for every host)
  --out FILE          write there (refuses an existing file) instead of standard output
  --etcd-version V    etcd.version of the new inventory (default ${DEFAULT_ETCD_VERSION})
Exit code: 0 written, 2 bad input (the message names the file and line).`;

const MAX_BYTES = 4 * 1024 * 1024;

function readSource(file: string): string {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (err) {
    throw new InputError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  if (data.length > MAX_BYTES)
    throw new InputError(`${file}: larger than ${MAX_BYTES} bytes; is it an inventory?`);
  const text = data.toString('utf8');
  if (text.includes('\uFFFD') || text.includes('\0')) throw new InputError(`${file}: not a UTF-8 text file`);
  return text;
}

/** YAML by extension, else by its first meaningful line (INI starts with a [section] or a host line). */
export function looksLikeYaml(file: string, text: string): boolean {
  const ext = extname(file).toLowerCase();
  if (['.yml', '.yaml', '.json'].includes(ext)) return true;
  if (ext === '.ini' || ext === '.cfg') return false;
  const first = text.split(/\r?\n/).find((l) => l.trim() !== '' && !/^\s*[#;]/.test(l));
  return first !== undefined && (first.trim() === '---' || /^[^\s[=]+:\s*(#.*)?$/.test(first.trimEnd()));
}

export function readAnsibleInventory(file: string): AnsibleInventory {
  const text = readSource(file);
  return looksLikeYaml(file, text) ? parseAnsibleYaml(text, file) : parseAnsibleIni(text, file);
}

const importCommand: Command = {
  summary: 'write a tskv inventory from an Ansible inventory (INI or YAML)',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { group: { type: 'string' }, out: { type: 'string' }, 'etcd-version': { type: 'string' } },
      usage,
    );
    const [kind, file] = requirePositionals(positionals, ['ansible', 'FILE'], usage);
    if (kind !== 'ansible')
      throw new InputError(`unknown inventory kind '${kind}' (tskv imports: ansible)\n${usage}`);
    if (positionals.length > 2) throw new InputError(`unexpected argument '${positionals[2]}'\n${usage}`);
    const out = values.out;
    if (out !== undefined && existsSync(out))
      throw new InputError(
        `${out} exists; tskv import does not overwrite it (choose another --out or move it aside)`,
      );
    const inv = readAnsibleInventory(file!);
    const extraNotes = ['group_vars', 'host_vars']
      .filter((d) => existsSync(join(dirname(file!), d)))
      .map((d) => `${d}/ beside the inventory (not read: carry what tskv needs by hand)`);
    const result = toTskvInventory(inv, {
      group: values.group ?? 'etcd',
      etcdVersion: values['etcd-version'] ?? DEFAULT_ETCD_VERSION,
      extraNotes,
    });
    if (out === undefined) {
      process.stdout.write(result.text);
    } else {
      try {
        writeFileSync(out, result.text, { flag: 'wx', mode: 0o644 });
      } catch (err) {
        throw new InputError(
          `cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
      process.stderr.write(
        `wrote ${out}: ${result.hosts.length} hosts${result.notes.length > 0 ? `, ${result.notes.length} things not carried over (named at its top)` : ''}\n`,
      );
    }
    return 0;
  },
};

export default importCommand;

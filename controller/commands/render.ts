import { InputError } from '../errors.ts';
import { loadInventory } from '../inventory/load.ts';
import { TLS_AUTO_LINE } from '../inventory/tls-default.ts';
import { checkUserTls } from '../pki/index.ts';
import { RENDER_FORMATS, type RenderFormat, renderHost } from '../render/render.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import type { Command } from './types.ts';
import { printWarnings } from './warnings.ts';

const usage = `usage: tskv render INVENTORY [--host NAME] [--format flags|env|systemd]

Prints each host's static etcd bootstrap configuration: its command line (flags, the default),
its ETCD_* environment file (env) or its systemd unit (systemd).`;

function isFormat(value: string): value is RenderFormat {
  return (RENDER_FORMATS as readonly string[]).includes(value);
}

const render: Command = {
  summary: "print each host's etcd command line, environment file or systemd unit",
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      argv,
      { host: { type: 'string' }, format: { type: 'string', default: 'flags' } },
      usage,
    );
    const [file] = requirePositionals(positionals, ['INVENTORY'], usage);
    if (positionals.length > 1) throw new InputError(`unexpected argument '${positionals[1]}'\n${usage}`);
    const format = values.format ?? 'flags';
    if (!isFormat(format)) {
      throw new InputError(`unknown format '${format}'; use one of: ${RENDER_FORMATS.join(', ')}`);
    }
    const loaded = await loadInventory(file!);
    printWarnings(loaded, { plaintext: false });
    await checkUserTls(loaded); // tls.mode files: what render shows is what deploy would place
    // Undeclared and no PKI yet: shown as deploy bootstraps a new cluster (inventory/tls-default.ts).
    const inv = loaded.tls.declared ? loaded : { ...loaded, tls: { ...loaded.tls, mode: 'auto' as const } };
    const names = values.host !== undefined ? [values.host] : inv.hosts.map((h) => h.name);
    const outputs = names.map((name) => renderHost(inv, name, format));
    const text =
      outputs.length === 1 ? outputs[0]! : outputs.map((out, i) => `# ${names[i]}\n${out}`).join('\n');
    process.stdout.write(text);
    if (!loaded.tls.declared && loaded.tls.mode === 'off') {
      process.stderr.write(
        `note: ${loaded.file} names no tls mode: shown with TLS, as deploy bootstraps a new cluster; a cluster that already runs plain HTTP stays so until the inventory says '${TLS_AUTO_LINE}'\n`,
      );
    }
    return 0;
  },
};

export default render;

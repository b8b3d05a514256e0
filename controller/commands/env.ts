import { InputError } from '../errors.ts';
import { loadInventory } from '../inventory/load.ts';
import { etcdctlEnv } from '../render/etcdctl-env.ts';
import { parseCommandArgs, requirePositionals } from './args.ts';
import type { Command } from './types.ts';
import { printWarnings } from './warnings.ts';

const usage = `usage: tskv env INVENTORY [--host NAME]

Prints export lines for your own etcdctl, as tskv reaches the cluster: ETCDCTL_API=3, the members'
client URLs (or only NAME's), and with TLS on the CA and the client certificate and key (of the
controller's PKI, or tls.ca and tls.client with tls.mode files). Use it where this machine can
reach port 2379 of the hosts:
  eval "$(tskv env inventory.yaml)" && etcdctl endpoint health --cluster`;

const env: Command = {
  summary: 'print export lines for etcdctl (endpoints, and the client certificate with TLS)',
  usage,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, { host: { type: 'string' } }, usage);
    const [file] = requirePositionals(positionals, ['INVENTORY'], usage);
    if (positionals.length > 1) throw new InputError(`unexpected argument '${positionals[1]}'\n${usage}`);
    const inv = await loadInventory(file!);
    printWarnings(inv, { plaintext: true });
    process.stdout.write(etcdctlEnv(inv, values.host));
    return 0;
  },
};

export default env;

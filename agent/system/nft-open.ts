/**
 * nftables: an `accept` in a table of our own would not help (a packet accepted by one base
 * chain still meets the drop of every other), so tskv's rules (comment "tskv etcd") go first in
 * each input chain that would refuse the ports: `tcp dport { P, Q } accept` for ports let in from
 * everywhere, `ip saddr { .. } tcp dport P accept` (and `ip6 saddr`) for a restricted one. A
 * chain whose rules of tskv differ from these gets the new ones first, then loses the old ones by
 * handle, so no wanted source is ever refused in between. For reboots, the same `insert rule`
 * lines go to a file included at the end of the boot configuration, but only when that
 * configuration defines the table itself (else loading it at boot would fail as a whole).
 */
import { readFile, stat } from 'node:fs/promises';
import { cidrFamily, type FirewallOpenRequest, NFT_BOOT_CONFIGS, NFT_TSKV_RULES } from '../api/index.ts';
import {
  judgeNftPort,
  NFT_TSKV_COMMENT,
  type NftInputChain,
  type NftOwnRule,
  nftOwnRules,
  nftPortRules,
  withoutOwnRules,
} from './nft.ts';
import { type OpenPlan, tcpList } from './open-plan.ts';
import { sourceChanges } from './source-rules.ts';
import { command, write } from './steps.ts';

export interface NftConfig {
  path: string;
  text: string;
  mode: number;
}

export async function readNftConfig(): Promise<NftConfig | null> {
  for (const path of NFT_BOOT_CONFIGS) {
    try {
      return { path, text: await readFile(path, 'utf8'), mode: (await stat(path)).mode & 0o7777 };
    } catch {
      // not this distribution's layout
    }
  }
  return null;
}

type RuleSpec = Omit<NftOwnRule, 'handle'>;

const key = (r: RuleSpec) =>
  `${[...r.ports].sort((a, b) => a - b).join(',')}|${r.from ? `${r.from.family} ${[...r.from.sources].sort().join(',')}` : '*'}`;

function ruleWords(r: RuleSpec): string[] {
  return [
    ...(r.from ? [r.from.family, 'saddr', `{ ${r.from.sources.join(', ')} }`] : []),
    ...['tcp', 'dport', `{ ${r.ports.join(', ')} }`, 'accept', 'comment', `"${NFT_TSKV_COMMENT}"`],
  ];
}

/** The rules of tskv a chain should hold for the request (none where it lets the ports in anyway). */
function wantedRules(chain: NftInputChain, request: FirewallOpenRequest): RuleSpec[] {
  const others = withoutOwnRules(chain);
  const refused = (port: number) => judgeNftPort([others], port, 'tcp').open !== true;
  const family = chain.table.split(' ')[0];
  const families = (['ip', 'ip6'] as const).filter((f) => family === 'inet' || family === f);
  const open = request.ports.filter(refused);
  return [
    ...(open.length > 0 ? [{ ports: open }] : []),
    ...request.restricted
      .filter((r) => refused(r.port))
      .flatMap(({ port, sources }) =>
        families.flatMap((f) => {
          const mine = sources.filter((s) => cidrFamily(s) === (f === 'ip' ? 'ipv4' : 'ipv6'));
          return mine.length > 0 ? [{ ports: [port], from: { family: f, sources: mine } }] : [];
        }),
      ),
  ];
}

/** What changes in one chain, in the words of the other backends. */
function chainActions(chain: NftInputChain, request: FirewallOpenRequest): string[] {
  const where = `nftables chain ${chain.table} ${chain.name}`;
  const own = nftOwnRules(chain);
  const openedByUs = (port: number) => own.some((r) => r && !r.from && r.ports.includes(port));
  const others = withoutOwnRules(chain);
  const refused = (port: number) => judgeNftPort([others], port, 'tcp').open !== true;
  const open = request.ports.filter((p) => refused(p) && !openedByUs(p));
  const actions = open.length > 0 ? [`accept ${tcpList(open)} first in ${where}`] : [];
  const later: string[] = [];
  for (const { port, sources } of request.restricted.filter((r) => refused(r.port))) {
    const changes = sourceChanges(sources, nftPortRules(chain, port));
    if (changes.add.length > 0)
      actions.push(`let ${port}/tcp in from ${changes.add.join(', ')} first in ${where}`);
    if (changes.closeToAll) later.push(`close ${port}/tcp to other sources in ${where}`);
    if (changes.remove.length > 0)
      later.push(`stop letting ${changes.remove.join(', ')} in on ${port}/tcp in ${where}`);
  }
  return [...actions, ...later];
}

export function planNftOpen(
  chains: NftInputChain[],
  request: FirewallOpenRequest,
  config: NftConfig | null,
): OpenPlan {
  const plan: OpenPlan = { actions: [], steps: [] };
  const persist: string[] = [];
  let changed = false;
  for (const chain of chains) {
    const want = wantedRules(chain, request);
    const [family, table] = chain.table.split(' ');
    const definesTable = new RegExp(`^\\s*table\\s+${family}\\s+${table}\\b`, 'm').test(config?.text ?? '');
    if (definesTable)
      persist.push(...want.map((r) => `insert rule ${chain.table} ${chain.name} ${ruleWords(r).join(' ')}`));
    const old = chain.rules.filter((r) => r.comment === NFT_TSKV_COMMENT);
    const have = nftOwnRules(chain);
    const same =
      have.every((r) => r !== undefined) &&
      JSON.stringify(have.map(key).sort()) === JSON.stringify(want.map(key).sort());
    if (same) continue;
    changed = true;
    const actions = chainActions(chain, request);
    plan.actions.push(
      ...(actions.length > 0
        ? actions
        : [`rewrite tskv's rules in nftables chain ${chain.table} ${chain.name}`]),
    );
    if (want.length > 0 && !definesTable)
      plan.actions.push(
        `(runtime only: ${config?.path ?? 'no nftables.conf'} does not define ${chain.table})`,
      );
    // Each insert goes first: the last one inserted ends up on top.
    for (const r of [...want].reverse())
      plan.steps.push(
        command('nft', ['insert', 'rule', family ?? 'inet', table ?? '', chain.name, ...ruleWords(r)]),
      );
    for (const r of old)
      if (r.handle !== undefined)
        plan.steps.push(
          command('nft', [
            'delete',
            'rule',
            family ?? 'inet',
            table ?? '',
            chain.name,
            'handle',
            String(r.handle),
          ]),
        );
  }
  if (config && changed && persist.length > 0) {
    plan.actions.push(`persist in ${NFT_TSKV_RULES}, included from ${config.path}`);
    plan.steps.push(write(NFT_TSKV_RULES, `# written by tskv: etcd ports\n${persist.join('\n')}\n`));
    const include = `include "${NFT_TSKV_RULES}"`;
    if (!config.text.includes(include)) {
      plan.steps.push(write(config.path, `${config.text.replace(/\n*$/, '\n')}${include}\n`, config.mode));
    }
  }
  return plan;
}

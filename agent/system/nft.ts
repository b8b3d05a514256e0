import { runCommand } from './run.ts';

type Json = Record<string, unknown>;

export interface NftInputChain {
  name: string;
  table: string;
  policy: string;
  rules: Json[][];
}

/** Base chains hooked on input, with their rules' expressions, from `nft -j list ruleset`. */
export function parseNftRuleset(json: string): NftInputChain[] {
  const items = ((JSON.parse(json) as { nftables?: Json[] }).nftables ?? []) as Json[];
  const chains = new Map<string, NftInputChain>();
  for (const item of items) {
    const c = item['chain'] as Json | undefined;
    if (c && c['hook'] === 'input' && c['type'] === 'filter') {
      const key = `${c['family']} ${c['table']} ${c['name']}`;
      chains.set(key, {
        name: String(c['name']),
        table: `${c['family']} ${c['table']}`,
        policy: String(c['policy'] ?? 'accept'),
        rules: [],
      });
    }
    const r = item['rule'] as Json | undefined;
    if (r) chains.get(`${r['family']} ${r['table']} ${r['chain']}`)?.rules.push((r['expr'] as Json[]) ?? []);
  }
  return [...chains.values()];
}

function portMatches(right: unknown, port: number): boolean {
  if (typeof right === 'number') return right === port;
  if (right && typeof right === 'object') {
    const o = right as Json;
    if (Array.isArray(o['set'])) return o['set'].some((v) => portMatches(v, port));
    if (Array.isArray(o['range'])) return port >= Number(o['range'][0]) && port <= Number(o['range'][1]);
  }
  return false;
}

const VERDICTS = ['accept', 'drop', 'reject', 'jump', 'goto', 'return'];

/**
 * What one chain does with a new connection to the port: the first rule that surely applies
 * decides; a rule whose other conditions cannot be judged (sources, jumps) makes the answer unknown.
 */
function judgeChain(
  chain: NftInputChain,
  port: number,
  protocol: string,
): { open: boolean | null; detail: string } {
  const where = `nftables ${chain.table} chain ${chain.name}`;
  for (const expr of chain.rules) {
    const verdict = VERDICTS.find((v) => expr.some((e) => v in e));
    if (!verdict) continue;
    let applies = true;
    let conditional = false;
    for (const e of expr) {
      const m = e['match'] as Json | undefined;
      if (!m) continue;
      const payload = (m['left'] as Json | undefined)?.['payload'] as Json | undefined;
      if (payload?.['field'] === 'dport' && m['op'] === '==') {
        if (payload['protocol'] !== protocol || !portMatches(m['right'], port)) applies = false;
      } else if (JSON.stringify(m['left']).includes('"ct"') || JSON.stringify(m['left']).includes('"iif')) {
        applies = false; // established/related or loopback rules do not admit a new remote connection
      } else {
        conditional = true;
      }
    }
    if (!applies) continue;
    if (verdict === 'jump' || verdict === 'goto' || verdict === 'return' || conditional) {
      return { open: null, detail: `${where}: a rule with conditions tskv cannot judge` };
    }
    return { open: verdict === 'accept', detail: `${where}: ${verdict} rule` };
  }
  return { open: chain.policy === 'accept', detail: `${where}: policy ${chain.policy}` };
}

export function judgeNftPort(
  chains: NftInputChain[],
  port: number,
  protocol: string,
): { open: boolean | null; detail: string } {
  if (chains.length === 0) return { open: true, detail: 'nftables: no input filter chain' };
  const verdicts = chains.map((c) => judgeChain(c, port, protocol));
  return (
    verdicts.find((v) => v.open === false) ??
    verdicts.find((v) => v.open === null) ??
    verdicts[0] ?? { open: true, detail: 'nftables' }
  );
}

export async function readNftInputChains(): Promise<NftInputChain[] | null> {
  const r = await runCommand('nft', ['-j', 'list', 'ruleset']);
  if (r.notFound || r.code !== 0) return null;
  try {
    return parseNftRuleset(r.stdout || '{"nftables":[]}');
  } catch {
    return null;
  }
}

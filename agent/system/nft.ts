import { canonicalCidr, formatCidr, parseCidr } from '../api/index.ts';
import { runCommand } from './run.ts';
import type { PortRules } from './source-rules.ts';

type Json = Record<string, unknown>;

export interface NftRule {
  expr: Json[];
  handle?: number;
  comment?: string;
}

export interface NftInputChain {
  name: string;
  /** "FAMILY TABLE", e.g. "inet filter". */
  table: string;
  policy: string;
  rules: NftRule[];
}

/** The comment on every rule tskv inserts: how its own rules are told from the others. */
export const NFT_TSKV_COMMENT = 'tskv etcd';

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
    if (r) {
      chains.get(`${r['family']} ${r['table']} ${r['chain']}`)?.rules.push({
        expr: (r['expr'] as Json[]) ?? [],
        ...(typeof r['handle'] === 'number' ? { handle: r['handle'] } : {}),
        ...(typeof r['comment'] === 'string' ? { comment: r['comment'] } : {}),
      });
    }
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
  for (const { expr } of chain.rules) {
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

/** A rule of tskv's (its comment): the ports it lets in and from where (undefined: everywhere). */
export interface NftOwnRule {
  handle: number | undefined;
  ports: number[];
  /** "ip" or "ip6" with its networks in one spelling; undefined when the rule has no source match. */
  from?: { family: 'ip' | 'ip6'; sources: string[] };
}

function addresses(right: unknown): string[] | undefined {
  const one = (v: unknown): string | undefined => {
    if (typeof v === 'string') return canonicalCidr(v);
    const p = (v as Json | null)?.['prefix'] as Json | undefined;
    if (!p) return undefined;
    const c = parseCidr(`${String(p['addr'])}/${String(p['len'])}`);
    return typeof c === 'string' ? undefined : formatCidr(c);
  };
  const list = (right as Json | null)?.['set'];
  const all = Array.isArray(list) ? list.map(one) : [one(right)];
  return all.every((a) => a !== undefined) ? (all as string[]) : undefined;
}

function ports(right: unknown): number[] | undefined {
  const list = (right as Json | null)?.['set'];
  const all = Array.isArray(list) ? list : [right];
  return all.every((p) => typeof p === 'number') ? (all as number[]) : undefined;
}

/** tskv's rules in a chain (by their comment), as far as they are of its kind (anything else: undefined, to be replaced). */
export function nftOwnRules(chain: NftInputChain): (NftOwnRule | undefined)[] {
  return chain.rules
    .filter((r) => r.comment === NFT_TSKV_COMMENT)
    .map((r) => {
      const own: NftOwnRule = { handle: r.handle, ports: [] };
      for (const e of r.expr) {
        if ('accept' in e) continue;
        const m = e['match'] as Json | undefined;
        const payload = (m?.['left'] as Json | undefined)?.['payload'] as Json | undefined;
        if (m?.['op'] !== '==' || !payload) return undefined;
        if (payload['protocol'] === 'tcp' && payload['field'] === 'dport') {
          const p = ports(m['right']);
          if (!p) return undefined;
          own.ports = p;
        } else if (
          (payload['protocol'] === 'ip' || payload['protocol'] === 'ip6') &&
          payload['field'] === 'saddr'
        ) {
          const sources = addresses(m['right']);
          if (!sources) return undefined;
          own.from = { family: payload['protocol'], sources };
        } else return undefined;
      }
      return r.expr.some((e) => 'accept' in e) && own.ports.length > 0 ? own : undefined;
    });
}

/** The chain without tskv's rules: what it does to the port by the others' rules alone. */
export function withoutOwnRules(chain: NftInputChain): NftInputChain {
  return { ...chain, rules: chain.rules.filter((r) => r.comment !== NFT_TSKV_COMMENT) };
}

/** A chain's rules of tskv's kind for a TCP port, and whether the chain lets it in anyway. */
export function nftPortRules(chain: NftInputChain, port: number): PortRules {
  const own = nftOwnRules(chain).filter((r): r is NftOwnRule => r?.ports.includes(port) === true);
  const rest = judgeNftPort([withoutOwnRules(chain)], port, 'tcp');
  return {
    openToAll: own.some((r) => r.from === undefined),
    sources: own.flatMap((r) => r.from?.sources ?? []),
    wider: rest.open === true ? rest.detail : undefined,
  };
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

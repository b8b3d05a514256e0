/**
 * A port let in only from some networks (tskv with TLS on), whatever the firewall: what it has
 * of tskv's kind of rules (accept TCP to the port from one network; the port open to every
 * source by an entry tskv may close) against what is wanted, and the changes in the order that
 * never shuts out a wanted source: the sources' rules first, then the opening to all, then the
 * rules of sources no longer wanted. Pure.
 */
import type { FirewallPortState } from '../api/index.ts';

export interface PortRules {
  /** Open to every source by an entry tskv may close (firewalld's port, ufw's `allow P/tcp`, nft's own rule). */
  openToAll: boolean;
  /** The networks (one spelling each) with their own accept rule for the port. */
  sources: string[];
  /** What else lets every source in, which tskv leaves alone (a service, a range, a policy). */
  wider?: string | undefined;
}

export interface SourceChanges {
  add: string[];
  closeToAll: boolean;
  remove: string[];
}

export function sourceChanges(want: readonly string[], have: PortRules): SourceChanges {
  const present = new Set(have.sources);
  const wanted = new Set(want);
  return {
    add: want.filter((s) => !present.has(s)),
    closeToAll: have.openToAll,
    remove: [...new Set(have.sources)].filter((s) => !wanted.has(s)),
  };
}

export const hasChanges = (c: SourceChanges): boolean =>
  c.add.length > 0 || c.closeToAll || c.remove.length > 0;

/** Every wanted source is let in through this layer (its own rule, or anything open to all). */
export function letsAllIn(want: readonly string[], have: PortRules): boolean {
  if (have.openToAll || have.wider !== undefined) return true;
  const present = new Set(have.sources);
  return want.every((s) => present.has(s));
}

const union = (lists: string[][]): string[] => [...new Set(lists.flat())];

export function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

/**
 * The state of a port asked about with sources, from the layers that must each let them in:
 * `now` filters traffic (firewalld's runtime zone, ufw, each nftables chain that would refuse
 * the port), `saved` is what a reload or reboot brings back (firewalld's permanent zone).
 */
export function judgeSources(
  port: number,
  want: readonly string[],
  where: string,
  now: PortRules[],
  saved?: PortRules[],
): FirewallPortState {
  const layers = [...now, ...(saved ?? [])];
  const changes = layers.map((l) => sourceChanges(want, l));
  const missing = union(changes.map((c) => c.add));
  const wider = layers.find((l) => l.wider !== undefined)?.wider;
  const state = {
    missing,
    openToAll: changes.some((c) => c.closeToAll),
    stale: union(changes.map((c) => c.remove)),
    ...(wider === undefined ? {} : { wider }),
  };
  const detail =
    missing.length > 0
      ? `no rule for ${missing.join(', ')} (${where})`
      : `let in from ${count(want.length, 'source')}${state.openToAll ? ' and from everywhere' : ''} (${where})`;
  return {
    port,
    protocol: 'tcp',
    open: now.every((l) => letsAllIn(want, l)),
    detail,
    ...(saved ? { permanent: saved.every((l) => letsAllIn(want, l)) } : {}),
    sources: state,
  };
}

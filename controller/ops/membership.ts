/**
 * How the live member list and the inventory line up: which host a member runs on, which member a
 * host is, and every disagreement with the exact `tskv replace` / `tskv member` command that
 * resolves it. Pure.
 */
import type { EtcdMember } from '../etcd/index.ts';
import type { HostSpec, Inventory } from '../inventory/model.ts';
import { shellQuote } from '../render/shell-quote.ts';
import { hostPort, peerUrl } from '../render/urls.ts';

/**
 * The member has a peer URL at the host's address and peer port, in either scheme: a member whose
 * cluster moves to TLS keeps its http:// peer URL until deploy updates it.
 */
export function hasPeerAt(m: EtcdMember, host: HostSpec, inv: Inventory): boolean {
  const hostOf = (url: string) => {
    try {
      return new URL(url).host; // lower case, IPv6 in its shortest form
    } catch {
      return undefined;
    }
  };
  const at = hostOf(`http://${hostPort(host.address, inv.cluster.peerPort)}`);
  return m.peerURLs.some((u) => hostOf(u) === at);
}

/** The inventory host at the member's peer address, whatever its name: where its etcd process runs. */
export function hostAt(inv: Inventory, m: EtcdMember): HostSpec | undefined {
  return inv.hosts.find((h) => hasPeerAt(m, h, inv));
}

/** The member at the host's peer address, whatever its name: the one its etcd process is. */
export function memberAt(inv: Inventory, members: EtcdMember[], host: HostSpec): EtcdMember | undefined {
  return members.find((m) => hasPeerAt(m, host, inv));
}

/** The inventory host that is this member: same name, or (never started) same peer address. */
export function hostOf(inv: Inventory, m: EtcdMember): HostSpec | undefined {
  return m.started ? inv.hosts.find((h) => h.name === m.name) : hostAt(inv, m);
}

/** The member that is this inventory host: same name, or (never started) same peer address. */
export function memberOf(inv: Inventory, members: EtcdMember[], host: HostSpec): EtcdMember | undefined {
  return (
    members.find((m) => m.started && m.name === host.name) ??
    members.find((m) => !m.started && hasPeerAt(m, host, inv))
  );
}

/** --initial-cluster for a member joining now: every live member (learners, unstarted ones) plus itself under its name. */
export function joiningInitialCluster(
  inv: Inventory,
  members: EtcdMember[],
  joining: string,
): { name: string; peerUrl: string }[] {
  const host = inv.hosts.find((h) => h.name === joining);
  const url = host ? peerUrl(host, inv) : undefined;
  const list = members.flatMap((m) =>
    m.peerURLs.map((u) => ({ name: url !== undefined && u === url ? joining : m.name, peerUrl: u })),
  );
  if (url !== undefined && !list.some((e) => e.peerUrl === url)) list.push({ name: joining, peerUrl: url });
  return list;
}

/** How a member is named to the operator: its name, or "(unstarted) <hex id>". */
export function memberLabel(m: EtcdMember): string {
  return m.started ? m.name : `(unstarted) ${m.idHex}`;
}

export type DriftKind =
  | 'renamed'
  | 'member-not-in-inventory'
  | 'host-not-member'
  | 'unstarted'
  | 'learner'
  | 'peer-url-differs';

export interface DriftProblem {
  kind: DriftKind;
  /** The member concerned (name or "(unstarted) <hex>"), when there is one. */
  member?: string;
  /** The inventory host concerned, when there is one. */
  host?: string;
  message: string;
  /** The command that resolves it (or what to do when no command can). */
  fix: string;
}

/** `tskv <command...> INVENTORY <args...>`, shell-quoted. */
function cmd(inv: Inventory, command: string, ...args: string[]): string {
  return ['tskv', command, shellQuote(inv.file), ...args.map(shellQuote)].join(' ');
}

/**
 * Every way the cluster and the inventory disagree, each with the command that fixes it. Empty when
 * they agree: every inventory host is a started voting member under its name with its peer URL, and
 * every member is an inventory host. Deploy refuses while this is not empty.
 */
export function membershipDrift(inv: Inventory, members: EtcdMember[]): DriftProblem[] {
  const problems: DriftProblem[] = [];
  const paired = new Set<string>();
  const hostsNotMembers = inv.hosts.filter((h) => memberOf(inv, members, h) === undefined);
  const freeHosts = hostsNotMembers.filter((h) => memberAt(inv, members, h) === undefined);

  for (const m of members) {
    const host = hostOf(inv, m);
    if (!m.started) {
      problems.push(
        host
          ? {
              kind: 'unstarted',
              member: memberLabel(m),
              host: host.name,
              message: `member ${m.idHex} (${host.name}) was added but never started`,
              fix: cmd(inv, 'member add', host.name, '--start'),
            }
          : {
              kind: 'unstarted',
              member: memberLabel(m),
              message: `member ${m.idHex} at ${m.peerURLs.join(',')} was added but never started and is not in the inventory`,
              fix: cmd(inv, 'member remove', m.idHex),
            },
      );
      if (host) paired.add(host.name);
      continue;
    }
    if (host) {
      const want = peerUrl(host, inv);
      // Only the address counts: deploy moves a member's scheme (tls.mode).
      if (!hasPeerAt(m, host, inv)) {
        problems.push({
          kind: 'peer-url-differs',
          member: m.name,
          host: host.name,
          message: `member ${m.name} has peer URL ${m.peerURLs.join(',')}, the inventory says ${want}`,
          fix: `restore ${host.name}'s address in the inventory, or replace the member: ${cmd(inv, 'replace', `${m.name}=NEW`)}`,
        });
      }
      if (m.isLearner) {
        problems.push({
          kind: 'learner',
          member: m.name,
          host: host.name,
          message: `member ${m.name} is a learner: a replacement or an add did not finish`,
          fix: `re-run the tskv replace that added it, or ${cmd(inv, 'member remove', m.name)}`,
        });
      }
      continue;
    }
    // A started member that is not in the inventory: renamed at the same address, replaced, or extra.
    const sameAddress = hostsNotMembers.find((h) => hasPeerAt(m, h, inv));
    const target = sameAddress ?? (freeHosts.length === 1 ? freeHosts[0] : undefined);
    if (target && !paired.has(target.name)) {
      paired.add(target.name);
      problems.push({
        kind: sameAddress ? 'renamed' : 'member-not-in-inventory',
        member: m.name,
        host: target.name,
        message: sameAddress
          ? `member ${m.name} runs at ${target.name}'s address, but the inventory names it ${target.name}`
          : `member ${m.name} is not in the inventory, and ${target.name} is not a member`,
        fix: cmd(inv, 'replace', `${m.name}=${target.name}`),
      });
    } else {
      problems.push({
        kind: 'member-not-in-inventory',
        member: m.name,
        message: `member ${m.name} (${m.idHex}) at ${m.peerURLs.join(',')} is not in the inventory`,
        fix: `add it to the inventory, or ${cmd(inv, 'member remove', m.name)}`,
      });
    }
  }
  for (const h of hostsNotMembers) {
    if (paired.has(h.name)) continue;
    problems.push({
      kind: 'host-not-member',
      host: h.name,
      message: `inventory host ${h.name} is not a member`,
      fix: cmd(inv, 'member add', h.name, '--start'),
    });
  }
  return problems;
}

/** Drift problems as lines for the operator ("message\n  fix: command"). */
export function formatDrift(problems: DriftProblem[]): string {
  return problems.map((p) => `${p.message}\n  fix: ${p.fix}`).join('\n');
}

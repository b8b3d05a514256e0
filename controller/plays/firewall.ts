/**
 * The host firewalls as the inventory wants them (ops/firewall-plan.ts decides): the members'
 * addresses as networks, and the agent call that lets the ports in. With TLS on, a member joining
 * (replace, member add) is let in on every member before it is added, so it can reach them as soon
 * as it starts; a member that left keeps its rules until the next deploy, whose inventory no
 * longer names it (deploy removes the rules of sources it does not want).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { canonicalCidr, type FirewallOpenRequest, routes } from '../../agent/api/index.ts';
import { describeCause, TskvError } from '../errors.ts';
import type { EtcdMember } from '../etcd/index.ts';
import type { Inventory } from '../inventory/model.ts';
import { tlsOn } from '../inventory/tls.ts';
import { type Exposure, wantedExposure } from '../ops/firewall-plan.ts';
import type { LiveCluster } from './live-cluster.ts';
import type { HostChannel } from './session.ts';

const hostOfUrl = (url: string): string | undefined => {
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    return undefined;
  }
};

/** An address as networks (/32, /128): a DNS name resolved here, as etcd's peers would resolve it. */
async function networksOf(address: string, who: string): Promise<string[]> {
  if (isIP(address)) return [canonicalCidr(address)!];
  try {
    const found = await lookup(address, { all: true });
    return found.map((a) => canonicalCidr(a.address)).filter((c): c is string => c !== undefined);
  } catch (err) {
    throw new TskvError(
      'E_MEMBER_ADDRESS',
      `${who}'s address ${address} does not resolve on this machine (${describeCause(err)}): with TLS on, the firewalls let each member in by its IP address`,
      {
        step: 'firewall',
        fix: `give ${who} an IP address in the inventory, or make ${address} resolvable here`,
      },
    );
  }
}

/** The members' addresses: the inventory's hosts, and during a membership change the live members (the one leaving too). */
export async function memberSources(inv: Inventory, live: EtcdMember[] = []): Promise<string[]> {
  const named = inv.hosts.map((h) => ({ address: h.address, who: `hosts.${h.name}` }));
  const running = live.flatMap((m) =>
    m.peerURLs.map(hostOfUrl).flatMap((a) => (a ? [{ address: a, who: `member ${m.name || m.idHex}` }] : [])),
  );
  const all = await Promise.all([...named, ...running].map((a) => networksOf(a.address, a.who)));
  return [...new Set(all.flat())];
}

/** What the firewalls should let in (with TLS off no address is needed, nor resolved). */
export async function clusterExposure(inv: Inventory, live: EtcdMember[] = []): Promise<Exposure> {
  return wantedExposure(inv, tlsOn(inv) ? await memberSources(inv, live) : []);
}

export const openRequest = (e: Exposure): FirewallOpenRequest => ({
  ports: e.open,
  restricted: e.restricted,
});

export async function openFirewall(ch: HostChannel, request: FirewallOpenRequest): Promise<string[]> {
  return (await ch.agent.call(routes.firewallOpen, request, { step: 'open firewall' })).actions;
}

/** Before `host` joins: every other member's host lets it in (what it lacks of the exposure, nothing else). */
export async function letMemberIn(live: LiveCluster, host: string): Promise<string[]> {
  const { members } = await live.memberList();
  const request = openRequest(await clusterExposure(live.session.inventory, members));
  const others = members.filter((m) => m !== live.memberOnHost(members, host));
  const said = await Promise.all(
    others.map(async (m) => {
      const at = [...live.session.hosts.keys()].find((h) => live.memberOnHost([m], h) !== undefined);
      const ch = at === undefined ? undefined : live.session.hosts.get(at);
      if (!ch) {
        return [
          `warning: ${m.name || m.idHex} (${m.peerURLs.join(',')}) is on no host tskv reached: let ${host} in on its peer port by hand`,
        ];
      }
      return (await openFirewall(ch, request)).map((a) => `${at}: ${a}`);
    }),
  );
  return said.flat();
}

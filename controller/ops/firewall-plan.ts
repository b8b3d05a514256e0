/**
 * Who the host firewalls let in on the cluster's ports, and what the hosts still lack. Pure.
 * TLS off: both ports to every source the firewall zone admits (plain HTTP cannot tell who
 * connects, so a narrower rule would only pretend). TLS on: the peer port only from the members;
 * the client port from `cluster.clientSources` and the members (who reach each other's client
 * port: etcdctl's `--cluster` checks, tskv's probes), or from everywhere without clientSources
 * (client certificates guard it).
 */
import type {
  FirewallOpenRequest,
  FirewallPortState,
  FirewallStateResponse,
  RestrictedPort,
} from '../../agent/api/index.ts';
import type { Inventory } from '../inventory/model.ts';
import { tlsOn } from '../inventory/tls.ts';

export interface Exposure {
  /** Ports let in from every source. */
  open: number[];
  /** Ports let in only from their networks (one spelling each, agent/api/cidr.ts). */
  restricted: RestrictedPort[];
}

/** The exposure the inventory wants, `members` being the members' addresses as networks (/32, /128). */
export function wantedExposure(inv: Inventory, members: string[]): Exposure {
  const { clientPort, peerPort, clientSources } = inv.cluster;
  if (!tlsOn(inv)) return { open: [clientPort, peerPort], restricted: [] };
  const peers = [...new Set(members)];
  return {
    open: clientSources ? [] : [clientPort],
    restricted: [
      ...(clientSources ? [{ port: clientPort, sources: [...new Set([...clientSources, ...peers])] }] : []),
      { port: peerPort, sources: peers },
    ],
  };
}

/** The ports as the agent's firewall state is asked about them (restricted ones with their sources). */
export function exposureQuestion(e: Exposure): { port: number; sources?: string[] }[] {
  return [...e.open.map((port) => ({ port })), ...e.restricted];
}

const portState = (fw: FirewallStateResponse, port: number): FirewallPortState | undefined =>
  fw.ports.find((p) => p.port === port && p.protocol === 'tcp');

/** A restricted port where the host differs from letting in exactly its sources. */
function restrictionDiffers(state: FirewallPortState | undefined): boolean {
  const s = state?.sources;
  return s === undefined || s.missing.length > 0 || s.openToAll || s.stale.length > 0;
}

export function portsToOpen(fw: FirewallStateResponse, ports: number[]): number[] {
  if (fw.backend === 'none') return [];
  return ports.filter((port) => {
    const state = portState(fw, port);
    // Open now but not in the permanent configuration: closed again after a reload or reboot.
    return state?.open !== true || state.permanent === false;
  });
}

const listed = (sources: string[]) =>
  sources.length <= 4 ? sources.join(', ') : `${sources.length} networks`;

function restrictionTitle(r: RestrictedPort, state: FirewallPortState | undefined): string {
  const s = state?.sources;
  const also = [
    ...(s?.openToAll ? ['closed to everyone else'] : []),
    ...(s && s.stale.length > 0 ? [`no longer from ${listed(s.stale)}`] : []),
  ];
  return `let ${r.port}/tcp in only from ${listed(r.sources)}${also.length ? ` (${also.join('; ')})` : ''}`;
}

/** The request that brings the host to the exposure and the step's title, or undefined when it is there. */
export function planFirewall(
  fw: FirewallStateResponse,
  exposure: Exposure,
): { request: FirewallOpenRequest; title: string } | undefined {
  if (fw.backend === 'none') return undefined;
  const open = portsToOpen(fw, exposure.open);
  const restricted = exposure.restricted.filter((r) => restrictionDiffers(portState(fw, r.port)));
  if (open.length === 0 && restricted.length === 0) return undefined;
  const where = fw.backend === 'firewalld' ? `firewalld zone ${fw.zone ?? 'default'}` : fw.backend;
  const what = [
    ...(open.length > 0 ? [`open ${open.map((p) => `${p}/tcp`).join(' ')}`] : []),
    ...restricted.map((r) => restrictionTitle(r, portState(fw, r.port))),
  ];
  return {
    request: { ports: open, restricted },
    title: `${what.join('; ')} (${where}, now and across reboots)`,
  };
}

/**
 * While members leave the cluster (deploy removing hosts from it): before the removes, the host
 * gets what it lacks of `final` but keeps letting the leaving members in (`during` = `final` plus
 * their addresses), for they talk to the others until they are removed; after the removes the
 * host is narrowed to `final`, so a re-run changes nothing.
 */
export function planFirewallWhileLeaving(
  fw: FirewallStateResponse,
  final: Exposure,
  during: Exposure,
): {
  prepare: { request: FirewallOpenRequest; title: string } | undefined;
  narrow: { request: FirewallOpenRequest; title: string } | undefined;
} {
  const leaving = (port: number) => {
    const want = final.restricted.find((r) => r.port === port)?.sources ?? [];
    return (during.restricted.find((r) => r.port === port)?.sources ?? []).filter((s) => !want.includes(s));
  };
  // The leaving members' rules are not stale yet: only what else differs makes a step now.
  const keeping: FirewallStateResponse = {
    ...fw,
    ports: fw.ports.map((p) =>
      p.sources
        ? {
            ...p,
            sources: { ...p.sources, stale: p.sources.stale.filter((s) => !leaving(p.port).includes(s)) },
          }
        : p,
    ),
  };
  const now = planFirewall(keeping, final);
  const prepare = now && {
    request: { ports: now.request.ports, restricted: during.restricted },
    title: `${now.title}; the leaving members stay let in until they are removed`,
  };
  const narrowed = planFirewall(fw, final);
  const narrow =
    narrowed ??
    (prepare && {
      request: { ports: [], restricted: final.restricted },
      title: 'let the peer port in only from the remaining members',
    });
  return { prepare, narrow };
}

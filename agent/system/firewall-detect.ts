import type { FirewallBackend, FirewallPortState } from '../api/index.ts';
import {
  dbusDefaultZone,
  firewallCmdSaysRunning,
  firewalldPortRules,
  judgeFirewalldPort,
  readDefaultZone,
} from './firewalld.ts';
import { judgeNftPort, nftPortRules, readNftInputChains, withoutOwnRules } from './nft.ts';
import { sharedWhileRunning } from './shared-reading.ts';
import { judgeSources } from './source-rules.ts';
import { judgeUfwPort, readUfwStatus, ufwPortRules } from './ufw.ts';

/** A port asked about: TCP with `sources` is judged as let in from exactly those (source-rules.ts). */
export interface PortQuestion {
  port: number;
  protocol: 'tcp' | 'udp';
  sources?: string[] | undefined;
}

export interface FirewallDetection {
  backend: FirewallBackend;
  state: string;
  defaultZone?: string;
  /** Judge whether each port lets new connections in. */
  judge(ports: PortQuestion[]): FirewallPortState[];
}

/** Each port by `plain` (let in from everywhere?), or by `restricted` when asked with sources. */
function judgeEach(
  ports: PortQuestion[],
  plain: (p: PortQuestion) => FirewallPortState,
  restricted: (port: number, sources: string[]) => FirewallPortState,
): FirewallPortState[] {
  return ports.map((p) => (p.sources && p.protocol === 'tcp' ? restricted(p.port, p.sources) : plain(p)));
}

/**
 * Which firewall filters incoming traffic: firewalld when it runs; else ufw when active (it writes
 * nftables/iptables rules itself, so it is asked before nft); else nftables input chains; else none.
 * Concurrent callers share one reading (each costs firewalld several D-Bus calls).
 */
export const detectFirewall: () => Promise<FirewallDetection> = sharedWhileRunning(readFirewall);

async function readFirewall(): Promise<FirewallDetection> {
  const zoneName = await dbusDefaultZone();
  if (zoneName !== undefined || (await firewallCmdSaysRunning())) {
    const [zone, saved] = await Promise.all([
      readDefaultZone(false, zoneName),
      readDefaultZone(true, zoneName),
    ]);
    return {
      backend: 'firewalld',
      state: 'running',
      defaultZone: zone.name,
      judge: (ports) =>
        judgeEach(
          ports,
          ({ port, protocol }) => ({
            port,
            protocol,
            ...judgeFirewalldPort(zone, port, protocol),
            permanent: judgeFirewalldPort(saved, port, protocol).open,
          }),
          (port, sources) =>
            judgeSources(
              port,
              sources,
              `firewalld zone ${zone.name}`,
              [firewalldPortRules(zone, port)],
              [firewalldPortRules(saved, port)],
            ),
        ),
    };
  }
  const ufw = await readUfwStatus();
  if (ufw?.active) {
    return {
      backend: 'ufw',
      state: 'active',
      judge: (ports) =>
        judgeEach(
          ports,
          ({ port, protocol }) => ({ port, protocol, ...judgeUfwPort(ufw, port, protocol) }),
          (port, sources) => judgeSources(port, sources, 'ufw', [ufwPortRules(ufw, port)]),
        ),
    };
  }
  const chains = await readNftInputChains();
  if (chains && chains.length > 0) {
    return {
      backend: 'nftables',
      state: `${chains.length} input chain(s)`,
      judge: (ports) =>
        judgeEach(
          ports,
          ({ port, protocol }) => ({ port, protocol, ...judgeNftPort(chains, port, protocol) }),
          (port, sources) => {
            // The chains that would refuse the port but for tskv's rules must each let the sources in.
            const refusing = chains.filter(
              (c) => judgeNftPort([withoutOwnRules(c)], port, 'tcp').open !== true,
            );
            const layers = refusing.length
              ? refusing.map((c) => nftPortRules(c, port))
              : [{ openToAll: false, sources: [], wider: 'nftables: no input chain refuses it' }];
            return judgeSources(port, sources, 'nftables', layers);
          },
        ),
    };
  }
  return {
    backend: 'none',
    state: chains ? 'no input filter' : 'no firewall tool found',
    judge: (ports) =>
      ports.map(({ port, protocol }) => ({ port, protocol, open: true, detail: 'no firewall' })),
  };
}

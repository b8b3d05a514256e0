import type { FirewallBackend, FirewallPortState } from '../api/index.ts';
import { dbusDefaultZone, firewallCmdSaysRunning, judgeFirewalldPort, readDefaultZone } from './firewalld.ts';
import { judgeNftPort, readNftInputChains } from './nft.ts';
import { sharedWhileRunning } from './shared-reading.ts';
import { judgeUfwPort, readUfwStatus } from './ufw.ts';

export interface FirewallDetection {
  backend: FirewallBackend;
  state: string;
  defaultZone?: string;
  /** Judge whether each port lets new connections in. */
  judge(ports: { port: number; protocol: 'tcp' | 'udp' }[]): FirewallPortState[];
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
        ports.map((p) => ({
          ...p,
          ...judgeFirewalldPort(zone, p.port, p.protocol),
          permanent: judgeFirewalldPort(saved, p.port, p.protocol).open,
        })),
    };
  }
  const ufw = await readUfwStatus();
  if (ufw?.active) {
    return {
      backend: 'ufw',
      state: 'active',
      judge: (ports) => ports.map((p) => ({ ...p, ...judgeUfwPort(ufw, p.port, p.protocol) })),
    };
  }
  const chains = await readNftInputChains();
  if (chains && chains.length > 0) {
    return {
      backend: 'nftables',
      state: `${chains.length} input chain(s)`,
      judge: (ports) => ports.map((p) => ({ ...p, ...judgeNftPort(chains, p.port, p.protocol) })),
    };
  }
  return {
    backend: 'none',
    state: chains ? 'no input filter' : 'no firewall tool found',
    judge: (ports) => ports.map((p) => ({ ...p, open: true, detail: 'no firewall' })),
  };
}

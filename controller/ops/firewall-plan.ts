/** Which of the cluster's ports the host firewall still blocks. Pure. */
import type { FirewallStateResponse } from '../../agent/api/index.ts';

export function portsToOpen(fw: FirewallStateResponse, ports: number[]): number[] {
  if (fw.backend === 'none') return [];
  return ports.filter((port) => {
    const state = fw.ports.find((p) => p.port === port && p.protocol === 'tcp');
    // Open now but not in the permanent configuration: closed again after a reload or reboot.
    return state?.open !== true || state.permanent === false;
  });
}

/** The ports to open and the step's title, or undefined when they are open. */
export function planFirewall(
  fw: FirewallStateResponse,
  ports: number[],
): { ports: number[]; title: string } | undefined {
  const closed = portsToOpen(fw, ports);
  if (closed.length === 0) return undefined;
  const where = fw.backend === 'firewalld' ? `firewalld zone ${fw.zone ?? 'default'}` : fw.backend;
  return {
    ports: closed,
    title: `open ${closed.map((p) => `${p}/tcp`).join(' ')} (${where}, now and across reboots)`,
  };
}

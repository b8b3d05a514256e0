import type { routes } from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { type DbusInvoke, dbusInvoke } from '../system/dbus.ts';
import { detectFirewall, type FirewallDetection } from '../system/firewall-detect.ts';
import {
  type OpenPlan,
  planFirewalldOpen,
  planNftOpen,
  planUfwOpen,
  readNftConfig,
} from '../system/firewall-open.ts';
import { readNftInputChains } from '../system/nft.ts';
import { runCommand } from '../system/run.ts';
import { applySteps, type RunCommand } from '../system/steps.ts';
import { readUfwStatus } from '../system/ufw.ts';
import type { Handler } from './types.ts';

export interface FirewallOpenOptions {
  detect?: () => Promise<Pick<FirewallDetection, 'backend'>>;
  run?: RunCommand;
  bus?: DbusInvoke;
}

async function plan(
  backend: string,
  ports: number[],
  run: RunCommand,
  bus: DbusInvoke,
): Promise<OpenPlan | null> {
  switch (backend) {
    case 'firewalld':
      return planFirewalldOpen(run, ports, bus);
    case 'ufw': {
      const status = await readUfwStatus();
      return status ? planUfwOpen(status, ports) : null;
    }
    case 'nftables':
      return planNftOpen((await readNftInputChains()) ?? [], ports, await readNftConfig());
    default:
      return null;
  }
}

/**
 * Open TCP ports in the host's firewall, now and across reboots: firewalld (default zone, runtime
 * and permanent), ufw, or nftables input chains; nothing where no firewall filters input.
 */
export function makeFirewallOpen(options: FirewallOpenOptions = {}): Handler<typeof routes.firewallOpen> {
  const run = options.run ?? runCommand;
  const bus = options.bus ?? dbusInvoke;
  return async ({ ports }) => {
    const wanted = [...new Set(ports)].sort((a, b) => a - b);
    const { backend } = await (options.detect ?? detectFirewall)();
    let planned: OpenPlan | null;
    try {
      planned = await plan(backend, wanted, run, bus);
      if (planned) await applySteps(planned.steps, run, bus);
    } catch (err) {
      throw new AgentError('E_AGENT_COMMAND_FAILED', err instanceof Error ? err.message : String(err));
    }
    if (!planned) return { changed: false, actions: ['no host firewall'] };
    return { changed: planned.actions.length > 0, actions: planned.actions };
  };
}

export const firewallOpen = makeFirewallOpen();

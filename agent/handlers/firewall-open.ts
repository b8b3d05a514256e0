import type { FirewallOpenRequest, routes } from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { checkRestrictedPorts, type Listeners } from '../policy/firewall.ts';
import { type DbusInvoke, dbusInvoke } from '../system/dbus.ts';
import { detectFirewall, type FirewallDetection } from '../system/firewall-detect.ts';
import { planFirewalldOpen } from '../system/firewalld-open.ts';
import { readNftInputChains } from '../system/nft.ts';
import { planNftOpen, readNftConfig } from '../system/nft-open.ts';
import type { OpenPlan } from '../system/open-plan.ts';
import { runCommand } from '../system/run.ts';
import { applySteps, type RunCommand } from '../system/steps.ts';
import { readUfwStatus } from '../system/ufw.ts';
import { planUfwOpen } from '../system/ufw-open.ts';
import type { Handler } from './types.ts';

export interface FirewallOpenOptions {
  detect?: () => Promise<Pick<FirewallDetection, 'backend'>>;
  run?: RunCommand;
  bus?: DbusInvoke;
  /** Which processes listen on the ports to be restricted (the policy's look at sshd). */
  listeners?: Listeners;
}

async function plan(
  backend: string,
  request: FirewallOpenRequest,
  run: RunCommand,
  bus: DbusInvoke,
): Promise<OpenPlan | null> {
  switch (backend) {
    case 'firewalld':
      return planFirewalldOpen(run, request, bus);
    case 'ufw': {
      const status = await readUfwStatus();
      return status ? planUfwOpen(status, request) : null;
    }
    case 'nftables':
      return planNftOpen((await readNftInputChains()) ?? [], request, await readNftConfig());
    default:
      return null;
  }
}

/**
 * Let TCP ports in through the host's firewall, now and across reboots: firewalld (default zone,
 * runtime and permanent), ufw, or nftables input chains; nothing where no firewall filters input.
 * `ports` from every source, `restricted` only from theirs (see RestrictedPort).
 */
export function makeFirewallOpen(options: FirewallOpenOptions = {}): Handler<typeof routes.firewallOpen> {
  const run = options.run ?? runCommand;
  const bus = options.bus ?? dbusInvoke;
  return async (request) => {
    const wanted: FirewallOpenRequest = {
      ports: [...new Set(request.ports)].sort((a, b) => a - b),
      restricted: [...request.restricted].sort((a, b) => a.port - b.port),
    };
    await checkRestrictedPorts(
      wanted.restricted.map((r) => r.port),
      options.listeners,
    );
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

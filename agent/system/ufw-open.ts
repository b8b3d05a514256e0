/**
 * ufw (which keeps its rules across reboots itself): `allow P/tcp` for a port let in from
 * everywhere; for a restricted one `allow from SOURCE to any port P proto tcp` per source, then
 * `delete allow P/tcp`, then the rules of sources no longer wanted.
 */
import type { FirewallOpenRequest } from '../api/index.ts';
import type { OpenPlan } from './open-plan.ts';
import { sourceChanges } from './source-rules.ts';
import { command } from './steps.ts';
import { judgeUfwPort, type UfwStatus, ufwPortRules, ufwSourceRules } from './ufw.ts';

const fromRule = (source: string, port: number) => [
  'from',
  source,
  'to',
  'any',
  'port',
  String(port),
  'proto',
  'tcp',
];

export function planUfwOpen(status: UfwStatus, request: FirewallOpenRequest): OpenPlan {
  const closed = request.ports.filter((p) => judgeUfwPort(status, p, 'tcp').open !== true);
  const plan: OpenPlan = {
    actions: closed.map((p) => `ufw allow ${p}/tcp`),
    steps: closed.map((p) => command('ufw', ['allow', `${p}/tcp`])),
  };
  const later: OpenPlan = { actions: [], steps: [] };
  for (const { port, sources } of request.restricted) {
    const changes = sourceChanges(sources, ufwPortRules(status, port));
    for (const s of changes.add) {
      plan.actions.push(`ufw allow from ${s} to any port ${port} proto tcp`);
      plan.steps.push(command('ufw', ['allow', ...fromRule(s, port)]));
    }
    if (changes.closeToAll) {
      later.actions.push(`ufw delete allow ${port}/tcp`);
      later.steps.push(command('ufw', ['delete', 'allow', `${port}/tcp`]));
    }
    // Deleted as ufw shows the network (a single address without /32), which is how it matches rules.
    const gone = new Set(changes.remove);
    for (const { from } of ufwSourceRules(status, port).filter((r) => gone.has(r.source))) {
      later.actions.push(`ufw delete allow from ${from} to any port ${port} proto tcp`);
      later.steps.push(command('ufw', ['delete', 'allow', ...fromRule(from, port)]));
    }
  }
  return { actions: [...plan.actions, ...later.actions], steps: [...plan.steps, ...later.steps] };
}

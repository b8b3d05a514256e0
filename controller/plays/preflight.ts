/** The preflight phase: every check on every host, in parallel; the first phase of every changing command. */
import {
  type FactsResponse,
  type FirewallStateResponse,
  type PortsResponse,
  routes,
} from '../../agent/api/index.ts';
import type { CheckResult } from '../ops/checks.ts';
import type { ClockOffset } from '../ops/clock.ts';
import {
  clockChecks,
  dataDirChecks,
  firewallChecks,
  hostChecks,
  portChecks,
  type ReachProbe,
  reachabilityChecks,
} from '../ops/preflight.ts';
import { forEachHost } from '../run/tasks.ts';
import { measureClock } from './clock.ts';
import type { HostChannel, Session } from './session.ts';

export interface HostObservation {
  facts: FactsResponse;
  ports: PortsResponse;
  firewall: FirewallStateResponse;
  clock: ClockOffset;
}

export interface PreflightOptions {
  /** Existing member data is expected (a running or to-be-restarted cluster), not a failure. */
  allowExistingData?: boolean;
}

export interface PreflightReport {
  checks: CheckResult[];
  observations: Map<string, HostObservation>;
}

const CLOCK_SAMPLES = 5;
const PROBE_CONNECT_TIMEOUT_MS = 2000;

async function observe(ch: HostChannel, ports: number[]): Promise<HostObservation> {
  const clock = await measureClock(ch.agent, CLOCK_SAMPLES);
  const [facts, portUse, firewall] = await Promise.all([
    ch.agent.call(routes.facts, { dataDir: ch.spec.dataDir }, { step: 'facts' }),
    ch.agent.call(routes.ports, { ports }, { step: 'ports' }),
    ch.agent.call(routes.firewallState, { ports: ports.map((port) => ({ port })) }, { step: 'firewall' }),
  ]);
  return { facts, ports: portUse, firewall, clock };
}

/** Real connections from every host to every other host's client and peer ports. */
async function probeReachability(
  session: Session,
  seen: Map<string, HostObservation>,
  ports: number[],
): Promise<ReachProbe[]> {
  const targets = [...session.hosts.values()].filter((h) => seen.has(h.spec.name));
  const listeners: { ch: HostChannel; id: string }[] = [];
  try {
    // Where etcd does not hold the port yet, the target's agent listens on it for the probes.
    await Promise.all(
      targets.flatMap((t) =>
        ports
          .filter((port) => !seen.get(t.spec.name)!.ports.ports.find((p) => p.port === port)?.inUse)
          .map(async (port) => {
            const r = await t.agent.call(
              routes.probeListen,
              { address: t.spec.address, port, durationMs: 30_000 },
              { step: `listen on ${port}` },
            );
            listeners.push({ ch: t, id: r.id });
          }),
      ),
    );
    const probes = targets.flatMap((from) =>
      targets
        .filter((to) => to !== from)
        .flatMap((to) =>
          ports.map(async (port): Promise<ReachProbe> => {
            const result = await from.agent.call(
              routes.probeConnect,
              { host: to.spec.address, port, timeoutMs: PROBE_CONNECT_TIMEOUT_MS },
              { step: `probe ${to.spec.name}:${port}` },
            );
            return {
              from: from.spec.name,
              to: to.spec.name,
              port,
              result,
              targetFirewall: seen.get(to.spec.name)?.firewall,
            };
          }),
        ),
    );
    return await Promise.all(probes);
  } finally {
    await Promise.allSettled(listeners.map((l) => l.ch.agent.call(routes.probeListenResult, { id: l.id })));
  }
}

export async function runPreflight(
  session: Session,
  options: PreflightOptions = {},
): Promise<PreflightReport> {
  const inv = session.inventory;
  const ports = [inv.cluster.clientPort, inv.cluster.peerPort];
  const checks: CheckResult[] = [...session.unreachable];
  const outcomes = await forEachHost(
    'preflight',
    [...session.hosts.keys()],
    (name) => observe(session.hosts.get(name)!, ports),
    session.mode,
  );
  const seen = new Map<string, HostObservation>();
  for (const [name, o] of outcomes) {
    if (o.ok) seen.set(name, o.value);
    else
      checks.push({
        host: name,
        check: 'agent',
        status: 'fail',
        observed: String((o.error as Error).message),
      });
  }
  const clusterRunning = [...seen.values()].some((o) => o.facts.etcd.running.length > 0);
  const bootstrappingNew = !clusterRunning && !options.allowExistingData;
  for (const [name, o] of seen) {
    const ch = session.hosts.get(name)!;
    checks.push({
      host: name,
      check: 'ssh',
      status: 'ok',
      observed: `connected as ${ch.spec.ssh.user}${ch.conn.viaSudo ? ' (sudo)' : ''}, host key verified`,
    });
    checks.push(...hostChecks(name, o.facts, ch.spec.dataDir));
    checks.push(...portChecks(name, o.ports, o.facts));
    checks.push(...firewallChecks(name, o.firewall));
    checks.push(...dataDirChecks(name, o.facts, bootstrappingNew));
  }
  if (seen.size > 1) checks.push(...reachabilityChecks(await probeReachability(session, seen, ports)));
  checks.push(...clockChecks(new Map([...seen].map(([h, o]) => [h, o.clock]))));
  const order = new Map(inv.hosts.map((h, i) => [h.name, i]));
  checks.sort((a, b) => (order.get(a.host) ?? 0) - (order.get(b.host) ?? 0));
  return { checks, observations: seen };
}

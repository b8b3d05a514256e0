/** The preflight phase: every check on every host, in parallel; the first phase of every changing command. */
import {
  type FactsResponse,
  type FirewallStateResponse,
  type PortsResponse,
  routes,
} from '../../agent/api/index.ts';
import { type CheckResult, failedCheck } from '../ops/checks.ts';
import type { ClockOffset } from '../ops/clock-skew.ts';
import { type Exposure, exposureQuestion } from '../ops/firewall-plan.ts';
import {
  accountChecks,
  clockChecks,
  dataDirChecks,
  firewallChecks,
  hostChecks,
  portChecks,
  reachabilityChecks,
} from '../ops/preflight-checks.ts';
import { forEachHost } from '../run/progress.ts';
import { measureClock } from './clock-measure.ts';
import { clusterExposure } from './firewall.ts';
import { certificateChecks } from './preflight-certs.ts';
import { startReachability } from './reachability.ts';
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
  /** Who the firewalls should let in: what each host's firewall was judged against. */
  exposure: Exposure;
}

const CLOCK_SAMPLES = 5;

/** The host's firewall, judged against who should be let in. */
function firewallStateFor(ch: HostChannel, exposure: Exposure) {
  return ch.agent.call(routes.firewallState, { ports: exposureQuestion(exposure) }, { step: 'firewall' });
}

/** Everything at once; the ports come from the reachability listeners' own reading when there is one. */
async function observe(
  ch: HostChannel,
  ports: number[],
  exposure: Exposure,
  usageBeforeListening: Promise<PortsResponse | undefined>,
): Promise<HostObservation> {
  const [portUse, facts, firewall, clock] = await Promise.all([
    usageBeforeListening.then((usage) => usage ?? ch.agent.call(routes.ports, { ports }, { step: 'ports' })),
    ch.agent.call(routes.facts, { dataDir: ch.spec.dataDir }, { step: 'facts' }),
    firewallStateFor(ch, exposure),
    measureClock(ch.agent, CLOCK_SAMPLES),
  ]);
  return { facts, ports: portUse, firewall, clock };
}

/**
 * The report's exposure and each host's firewall state again, for an inventory whose tls.mode
 * deploy has settled since (a new cluster gets TLS: inventory/tls-default.ts).
 */
export async function judgeFirewallsAgain(session: Session, report: PreflightReport): Promise<void> {
  const exposure = await clusterExposure(session.inventory);
  report.exposure = exposure;
  await Promise.all(
    [...report.observations].map(async ([name, o]) => {
      const ch = session.hosts.get(name);
      if (ch) o.firewall = await firewallStateFor(ch, exposure);
    }),
  );
}

export async function runPreflight(
  session: Session,
  options: PreflightOptions = {},
): Promise<PreflightReport> {
  const inv = session.inventory;
  const ports = [inv.cluster.clientPort, inv.cluster.peerPort];
  const exposure = await clusterExposure(inv);
  const checks: CheckResult[] = [...session.unreachable];
  const hosts = [...session.hosts.values()];
  const reach = hosts.length > 1 ? startReachability(hosts, ports) : undefined;
  const certs =
    inv.tls.mode === 'auto'
      ? certificateChecks(
          session,
          inv.hosts.map((h) => h.name),
        )
      : Promise.resolve([]);
  const outcomes = await forEachHost(
    'preflight',
    [...session.hosts.keys()],
    (name) =>
      observe(
        session.hosts.get(name)!,
        ports,
        exposure,
        reach?.portUsage(name) ?? Promise.resolve(undefined),
      ),
    session.mode,
  );
  const seen = new Map<string, HostObservation>();
  for (const [name, o] of outcomes) {
    if (o.ok) seen.set(name, o.value);
    else checks.push(failedCheck(name, o.error, 'preflight'));
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
    checks.push(...accountChecks(name, o.facts));
  }
  if (reach && seen.size > 1) {
    const probes = await reach.between([...seen.keys()]);
    checks.push(
      ...reachabilityChecks(probes.map((p) => ({ ...p, targetFirewall: seen.get(p.to)?.firewall }))),
    );
  } else await reach?.finished;
  checks.push(...clockChecks(new Map([...seen].map(([h, o]) => [h, o.clock]))));
  checks.push(...(await certs));
  // The controller's own checks (the PKI folder's certificates) after every host's.
  const order = new Map(inv.hosts.map((h, i) => [h.name, i]));
  const rank = (host: string) => order.get(host) ?? order.size;
  checks.sort((a, b) => rank(a.host) - rank(b.host));
  return { checks, observations: seen, exposure };
}

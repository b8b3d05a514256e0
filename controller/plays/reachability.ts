/**
 * Real connections from every host to every other host's client and peer ports, started as soon as
 * the agents are up and run alongside the rest of preflight. Three agent calls per host: read who
 * holds the ports and listen on the free ones (one call, so the listeners never show in the usage),
 * connect to every other host's ports, close the listeners.
 */
import {
  type PortsResponse,
  type ProbeConnectResponse,
  type ProbeListenFreeResponse,
  routes,
} from '../../agent/api/index.ts';
import type { AgentClient } from '../agent-client/client.ts';

/** What probing needs of a host (a session's HostChannel is one). */
export interface ProbeHost {
  spec: { name: string; address: string };
  agent: Pick<AgentClient, 'call'>;
}

const PROBE_CONNECT_TIMEOUT_MS = 2000;
/** The listeners close themselves after this, should the closing call never come. */
const LISTEN_MS = 30_000;

export interface ReachResult {
  from: string;
  to: string;
  port: number;
  result: ProbeConnectResponse;
}

export interface Reachability {
  /** Who held the ports on `host` before its listeners opened; undefined if listening failed there. */
  portUsage(host: string): Promise<PortsResponse | undefined>;
  /**
   * The probes between the `seen` hosts (those preflight could observe), in their order, once every
   * listener is closed. Throws what failed on a seen host: its listening or its connecting.
   */
  between(seen: string[]): Promise<ReachResult[]>;
  /** Resolves once every listener is closed. */
  finished: Promise<void>;
}

type Outcome<T> = PromiseSettledResult<T>;

const hop = (to: string, port: number) => `${to}:${port}`;

export function startReachability(hosts: ProbeHost[], ports: number[]): Reachability {
  const listening = new Map(
    hosts.map((h) => [
      h.spec.name,
      h.agent.call(
        routes.probeListenFree,
        { address: h.spec.address, ports, durationMs: LISTEN_MS },
        { step: `listen on ${ports.join(', ')}` },
      ),
    ]),
  );
  const listened = Promise.allSettled(listening.values()).then(
    (outcomes) => new Map([...listening.keys()].map((name, i) => [name, outcomes[i]!])),
  );
  const probed = listened.then(async (claims) => {
    const up = hosts.filter((h) => claims.get(h.spec.name)!.status === 'fulfilled');
    const outcomes = await Promise.allSettled(up.map((from) => connectToOthers(from, up, ports)));
    return new Map(up.map((h, i) => [h.spec.name, outcomes[i]!]));
  });
  const finished = probed.then(async () => {
    const claims = await listened;
    await Promise.allSettled(hosts.map((h) => closeListeners(h, claims.get(h.spec.name)!)));
  });
  return {
    portUsage: (host) =>
      listening.get(host)!.then(
        (r) => ({ ports: r.ports }),
        () => undefined,
      ),
    async between(seen) {
      await finished;
      const claims = await listened;
      const probes = await probed;
      for (const name of seen) throwIfRejected(claims.get(name)!);
      const byFrom = new Map(seen.map((name) => [name, throwIfRejected(probes.get(name)!)]));
      return seen.flatMap((from) =>
        seen
          .filter((to) => to !== from)
          .flatMap((to) =>
            ports.map((port) => ({ from, to, port, result: byFrom.get(from)!.get(hop(to, port))! })),
          ),
      );
    },
    finished,
  };
}

function throwIfRejected<T>(o: Outcome<T>): T {
  if (o.status === 'rejected') throw o.reason;
  return o.value;
}

/** One call from `from` to every other host's ports; the results keyed by "name:port". */
async function connectToOthers(
  from: ProbeHost,
  hosts: ProbeHost[],
  ports: number[],
): Promise<Map<string, ProbeConnectResponse>> {
  const others = hosts.filter((to) => to !== from);
  if (others.length === 0) return new Map();
  const targets = others.flatMap((to) =>
    ports.map((port) => ({ to: to.spec.name, host: to.spec.address, port })),
  );
  const { results } = await from.agent.call(
    routes.probeConnectMany,
    { targets: targets.map(({ host, port }) => ({ host, port })), timeoutMs: PROBE_CONNECT_TIMEOUT_MS },
    { step: `probe ${others.map((to) => to.spec.name).join(', ')}` },
  );
  return new Map(targets.map((t, i) => [hop(t.to, t.port), results[i]!]));
}

async function closeListeners(host: ProbeHost, claim: Outcome<ProbeListenFreeResponse>): Promise<void> {
  if (claim.status === 'rejected' || claim.value.listeners.length === 0) return;
  await host.agent.call(routes.probeListenResults, { ids: claim.value.listeners.map((l) => l.id) });
}

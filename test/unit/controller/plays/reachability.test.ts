/** Preflight's reachability probing (controller/plays/reachability.ts) against real agents on loopback. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { routes } from '../../../../agent/api/index.ts';
import type { AgentClient } from '../../../../controller/agent-client/client.ts';
import { TskvError } from '../../../../controller/errors.ts';
import { type ProbeHost, startReachability } from '../../../../controller/plays/reachability.ts';
import { withFreePorts } from '../../../fixtures/free-port.ts';
import { type RunningAgent, startAgent } from '../../agent/start-agent.ts';

async function listen(address: string, port: number): Promise<Server> {
  const server = createServer((socket) => socket.end());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, resolve);
  });
  return server;
}

describe('preflight reachability on loopback', () => {
  const agents: RunningAgent[] = [];
  let a: ProbeHost;
  let b: ProbeHost;
  before(async () => {
    agents.push(await startAgent(), await startAgent());
    a = { spec: { name: 'a', address: '127.0.0.1' }, agent: agents[0]!.client };
    b = { spec: { name: 'b', address: '127.0.0.2' }, agent: agents[1]!.client };
  });
  after(async () => {
    await Promise.all(agents.map((x) => x.stop()));
  });

  test('ports held on every host (a running cluster): reported, not listened on, and probed', async () => {
    await withFreePorts(1, async (port) => {
      const held: Server[] = [];
      try {
        held.push(await listen('127.0.0.1', port));
        held.push(await listen('127.0.0.2', port));
        const reach = startReachability([a, b], [port]);
        const usage = await reach.portUsage('b');
        assert.equal(usage?.ports[0]?.inUse, true);
        assert.ok(usage?.ports[0]?.listeners.some((l) => l.address === '127.0.0.2' && l.pid === process.pid));
        const probes = await reach.between(['a', 'b']);
        assert.deepEqual(
          probes.map((p) => [p.from, p.to, p.port, p.result.host, p.result.outcome]),
          [
            ['a', 'b', port, '127.0.0.2', 'ok'],
            ['b', 'a', port, '127.0.0.1', 'ok'],
          ],
        );
      } finally {
        for (const s of held) s.close();
      }
    });
  });

  test('a host that cannot listen is ignored unless preflight saw it; the other listeners are closed', async () => {
    await withFreePorts(1, async (port) => {
      // Both "hosts" share this kernel: c must read the port before a listens on it, or it would see
      // a's listener and not try (and fail) to listen at all.
      let cTried = () => {};
      const cTries = new Promise<void>((resolve) => {
        cTried = resolve;
      });
      const gatedA: ProbeHost['agent'] = {
        call: (async (route, request, options) => {
          if (route.path === routes.probeListenFree.path) await cTries;
          return agents[0]!.client.call(route, request, options);
        }) as AgentClient['call'],
      };
      const gatedC: ProbeHost['agent'] = {
        call: (async (route, request, options) => {
          try {
            return await agents[1]!.client.call(route, request, options);
          } finally {
            if (route.path === routes.probeListenFree.path) cTried();
          }
        }) as AgentClient['call'],
      };
      const elsewhere: ProbeHost = { spec: { name: 'c', address: '192.0.2.1' }, agent: gatedC };
      const reach = startReachability([{ spec: a.spec, agent: gatedA }, elsewhere], [port]);
      assert.deepEqual(await reach.portUsage('a'), { ports: [{ port, inUse: false, listeners: [] }] });
      assert.equal(await reach.portUsage('c'), undefined);
      assert.deepEqual(await reach.between(['a']), []);
      await assert.rejects(
        reach.between(['a', 'c']),
        (err: unknown) =>
          err instanceof TskvError && err.code === 'E_AGENT_ADDR_NOT_AVAILABLE' && err.host === 'local',
      );
      await reach.finished;
      const { ports } = await a.agent.call(routes.ports, { ports: [port] });
      assert.equal(ports[0]?.inUse, false, 'the listener on a is closed once probing is finished');
    });
  });

  test('free ports: a host listens; one that finds the port held (same kernel here) leaves it; all closed at the end', async () => {
    await withFreePorts(1, async (port) => {
      let aListened = () => {};
      const aListens = new Promise<void>((resolve) => {
        aListened = resolve;
      });
      const gatedA: ProbeHost['agent'] = {
        call: (async (route, request, options) => {
          const r = await agents[0]!.client.call(route, request, options);
          if (route.path === routes.probeListenFree.path) aListened();
          return r;
        }) as AgentClient['call'],
      };
      const gatedB: ProbeHost['agent'] = {
        call: (async (route, request, options) => {
          if (route.path === routes.probeListenFree.path) await aListens;
          return agents[1]!.client.call(route, request, options);
        }) as AgentClient['call'],
      };
      const reach = startReachability(
        [
          { spec: a.spec, agent: gatedA },
          { spec: b.spec, agent: gatedB },
        ],
        [port],
      );
      assert.deepEqual(await reach.portUsage('a'), { ports: [{ port, inUse: false, listeners: [] }] });
      const seenByB = await reach.portUsage('b');
      assert.deepEqual(
        seenByB?.ports[0]?.listeners.map((l) => [l.address, l.pid]),
        [['127.0.0.1', agents[0]!.child.pid]],
        "b sees a's probe listener and does not fail",
      );
      const probes = await reach.between(['a', 'b']);
      assert.deepEqual(
        probes.map((p) => [p.from, p.to, p.result.outcome]),
        [
          ['a', 'b', 'refused'],
          ['b', 'a', 'ok'],
        ],
      );
      const { ports } = await a.agent.call(routes.ports, { ports: [port] });
      assert.equal(ports[0]?.inUse, false, "a's listener is closed once the probes are in");
    });
  });
});

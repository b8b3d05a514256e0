/** The batched probe routes (listen-free, connect-many, listen/results) on the real agent, real sockets on loopback. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { routes } from '../../../../agent/api/index.ts';
import { TskvError } from '../../../../controller/errors.ts';
import { freePort, withFreePorts } from '../../../fixtures/free-port.ts';
import { type RunningAgent, startAgent } from '../start-agent.ts';

async function holdPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

describe('batched probe routes', () => {
  let agent: RunningAgent;
  before(async () => {
    agent = await startAgent();
  });
  after(async () => {
    await agent.stop();
  });

  test('listen-free skips a held port, naming its holder, and listens on the free ones', async () => {
    const held = await holdPort();
    try {
      await withFreePorts(2, async (free1, free2) => {
        const r = await agent.client.call(routes.probeListenFree, {
          address: '127.0.0.1',
          ports: [free1, held.port, free2],
          durationMs: 10_000,
        });
        // The usage is read before listening: the free ports are reported free, not held by the agent.
        assert.deepEqual(
          r.ports.map((p) => [p.port, p.inUse]),
          [
            [free1, false],
            [held.port, true],
            [free2, false],
          ],
        );
        assert.deepEqual(r.ports[1]?.listeners, [
          { address: '127.0.0.1', family: 'ipv4', pid: process.pid, command: 'node' },
        ]);
        assert.deepEqual(
          r.listeners.map((l) => l.port),
          [free1, free2],
        );
        const now = await agent.client.call(routes.ports, { ports: [free1, free2] });
        assert.ok(
          now.ports.every((p) => p.listeners.some((l) => l.pid === agent.child.pid)),
          JSON.stringify(now),
        );
        await agent.client.call(routes.probeListenResults, { ids: r.listeners.map((l) => l.id) });
      });
    } finally {
      held.server.close();
    }
  });

  test('connect-many answers every target in order; listen/results closes each listener with its connections', async () => {
    await withFreePorts(3, async (a, b, refused) => {
      const { listeners } = await agent.client.call(routes.probeListenFree, {
        address: '127.0.0.1',
        ports: [a, b],
        durationMs: 10_000,
      });
      const { results } = await agent.client.call(routes.probeConnectMany, {
        targets: [
          { host: '127.0.0.1', port: a },
          { host: '127.0.0.1', port: refused },
          { host: '127.0.0.1', port: b },
          { host: '127.0.0.1', port: a },
        ],
        timeoutMs: 2000,
      });
      assert.deepEqual(
        results.map((r) => [r.port, r.outcome, r.errno]),
        [
          [a, 'ok', undefined],
          [refused, 'refused', 'ECONNREFUSED'],
          [b, 'ok', undefined],
          [a, 'ok', undefined],
        ],
      );
      const seen = await agent.client.call(routes.probeListenResults, { ids: listeners.map((l) => l.id) });
      assert.deepEqual(
        seen.results.map((r) => [r.id, r.closed, r.connections.length]),
        [
          [listeners[0]?.id, true, 2],
          [listeners[1]?.id, true, 1],
        ],
      );
      assert.equal(seen.results[0]?.connections[0]?.remoteAddress, '127.0.0.1');
      const after = await agent.client.call(routes.probeConnectMany, {
        targets: [
          { host: '127.0.0.1', port: a },
          { host: '127.0.0.1', port: b },
        ],
        timeoutMs: 2000,
      });
      assert.deepEqual(
        after.results.map((r) => r.outcome),
        ['refused', 'refused'],
      );
    });
  });

  test('listen/results with an unknown id still closes the known listeners, then answers 404', async () => {
    await withFreePorts(1, async (port) => {
      const { listeners } = await agent.client.call(routes.probeListenFree, {
        address: '127.0.0.1',
        ports: [port],
        durationMs: 10_000,
      });
      await assert.rejects(
        agent.client.call(routes.probeListenResults, { ids: [listeners[0]!.id, 'no-such-id'] }),
        (err: unknown) =>
          err instanceof TskvError && err.code === 'E_AGENT_NOT_FOUND' && /no-such-id/.test(err.message),
      );
      const { results } = await agent.client.call(routes.probeConnectMany, {
        targets: [{ host: '127.0.0.1', port }],
        timeoutMs: 2000,
      });
      assert.equal(results[0]?.outcome, 'refused');
    });
  });

  test("listen-free takes back the agent's own listeners an interrupted run left open", async () => {
    await withFreePorts(1, async (port) => {
      const request = { address: '127.0.0.1', ports: [port], durationMs: 30_000 };
      const abandoned = await agent.client.call(routes.probeListenFree, request);
      assert.equal(abandoned.listeners.length, 1);
      // The run that opened it never collected it; the next preflight finds the port free.
      const next = await agent.client.call(routes.probeListenFree, request);
      assert.deepEqual(
        next.ports.map((p) => [p.port, p.inUse]),
        [[port, false]],
      );
      assert.equal(next.listeners.length, 1);
      await agent.client.call(routes.probeListenResults, { ids: next.listeners.map((l) => l.id) });
    });
  });

  test('listen-free on a port bound by a socket that does not listen (nobody to report) fails with EADDRINUSE', async () => {
    // A connection's local port is bound, but /proc lists no listener on it.
    const server = await holdPort();
    const client = connect(server.port, '127.0.0.1');
    await once(client, 'connect');
    try {
      const port = client.localPort ?? 0;
      await assert.rejects(
        agent.client.call(routes.probeListenFree, { address: '127.0.0.1', ports: [port], durationMs: 1000 }),
        (err: unknown) =>
          err instanceof TskvError &&
          err.code === 'E_AGENT_ADDR_IN_USE' &&
          err.host === 'local' &&
          err.message.includes(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`),
      );
    } finally {
      client.destroy();
      server.server.close();
    }
  });

  test('listen-free on an address that is not this host fails as listen does', async () => {
    await withFreePorts(1, (port) =>
      assert.rejects(
        agent.client.call(routes.probeListenFree, { address: '192.0.2.1', ports: [port], durationMs: 1000 }),
        (err: unknown) => err instanceof TskvError && err.code === 'E_AGENT_ADDR_NOT_AVAILABLE',
      ),
    );
  });

  test('listen-free refuses the same port twice', async () => {
    const port = await freePort();
    await assert.rejects(
      agent.client.call(routes.probeListenFree, {
        address: '127.0.0.1',
        ports: [port, port],
        durationMs: 1000,
      }),
      (err: unknown) =>
        err instanceof TskvError && err.code === 'E_AGENT_BAD_REQUEST' && /distinct/.test(err.message),
    );
  });
});

import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { AGENT_API_VERSION, routes } from '../../../agent/api/index.ts';
import { TskvError } from '../../../controller/errors.ts';
import { withFreePorts } from '../../fixtures/free-port.ts';
import { until } from '../../fixtures/wait.ts';
import { type RunningAgent, startAgent } from './start-agent.ts';

describe('agent server over a Unix socket', () => {
  let agent: RunningAgent;
  before(async () => {
    agent = await startAgent();
  });
  after(async () => {
    if (agent.child.exitCode === null) await agent.stop();
  });

  test('prints one ready line with the API version', () => {
    assert.equal(agent.ready['ready'], true);
    assert.equal(agent.ready['apiVersion'], AGENT_API_VERSION);
    assert.equal(agent.ready['buildId'], 'dev');
  });

  test('socket is 0600 in a 0700 directory', () => {
    assert.equal(statSync(agent.socket).mode & 0o777, 0o600);
    assert.equal(statSync(dirname(agent.socket)).mode & 0o777, 0o700);
  });

  test('GET /v1/version', async () => {
    const v = await agent.client.call(routes.version, {});
    assert.equal(v.apiVersion, AGENT_API_VERSION);
    assert.equal(v.nodeVersion, process.version);
    assert.equal(v.pid, agent.child.pid);
  });

  test('an idle connection stays open for the client to reuse or close (no server-side keep-alive timeout)', async () => {
    // Node's default closed it after 5 s idle, racing the controller's next request after a pause.
    const socket = connect(agent.socket);
    let closed = false;
    socket.on('close', () => {
      closed = true;
    });
    let reply = '';
    socket.on('data', (d: Buffer) => {
      reply += d;
    });
    socket.write('GET /v1/version HTTP/1.1\r\nHost: agent\r\nConnection: keep-alive\r\n\r\n');
    await until('the reply', () => reply.includes('"apiVersion"'));
    assert.doesNotMatch(reply, /^keep-alive: timeout=/im);
    // The idle period is what is tested here: longer than Node's default of 5 s.
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    assert.equal(closed, false, 'the agent kept the idle connection');
    socket.destroy();
  });

  test('POST /v1/facts has the expected shape', async () => {
    const before = Date.now();
    const f = await agent.client.call(routes.facts, { dataDir: '/nonexistent/tskv/data' });
    assert.ok(f.hostname.length > 0);
    assert.equal(f.arch, process.arch);
    assert.ok(f.os.id.length > 0);
    assert.equal(f.disk.measuredAt, '/');
    assert.ok(f.disk.freeBytes > 0 && f.disk.totalBytes >= f.disk.freeBytes);
    assert.deepEqual(f.etcd.dataDir, {
      path: '/nonexistent/tskv/data',
      exists: false,
      hasData: false,
      owner: null,
      mode: null,
    });
    assert.ok(['firewalld', 'ufw', 'nftables', 'none'].includes(f.firewall.backend));
    assert.ok(f.clockMs >= before - 5 && f.clockMs <= Date.now() + 5);
  });

  test('POST /v1/clock returns sub-ms wall clock close to ours', async () => {
    const t0 = Date.now();
    const { wallMs } = await agent.client.call(routes.clock, {});
    assert.ok(wallMs >= t0 - 5 && wallMs <= Date.now() + 5, `${wallMs} vs ${t0}`);
  });

  test('POST /v1/ports finds our own listener and its process', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as { port: number }).port;
    try {
      await withFreePorts(1, async (free) => {
        const { ports } = await agent.client.call(routes.ports, { ports: [port, free] });
        assert.equal(ports[0]?.inUse, true);
        assert.deepEqual(ports[0]?.listeners[0], {
          address: '127.0.0.1',
          family: 'ipv4',
          pid: process.pid,
          command: 'node',
        });
        assert.deepEqual(ports[1], { port: free, inUse: false, listeners: [] });
      });
    } finally {
      s.close();
    }
  });

  test('POST /v1/firewall/state answers per port', async () => {
    const r = await agent.client.call(routes.firewallState, { ports: [{ port: 2379 }, { port: 2380 }] });
    assert.deepEqual(
      r.ports.map((p) => [p.port, p.protocol]),
      [
        [2379, 'tcp'],
        [2380, 'tcp'],
      ],
    );
  });

  test('an invalid request is refused on the controller side with a typed error', async () => {
    await assert.rejects(
      agent.client.call(routes.probeConnectMany, {
        targets: [{ host: '127.0.0.1', port: 70000 }],
        timeoutMs: 10,
      }),
      (err: unknown) =>
        err instanceof TskvError && err.code === 'E_AGENT_BAD_REQUEST' && /port/.test(err.message),
    );
  });

  test('an invalid request that gets through is refused by the agent with a typed error', async () => {
    const lax = { ...routes.facts, request: z.any() };
    await assert.rejects(
      agent.client.call(lax, { dataDir: 'relative' }, { step: 'facts' }),
      (err: unknown) =>
        err instanceof TskvError &&
        err.code === 'E_AGENT_BAD_REQUEST' &&
        err.step === 'facts' &&
        /dataDir: must be an absolute path/.test(err.message),
    );
  });

  test('a reply that does not match the schema is a protocol error', async () => {
    const strict = { ...routes.clock, response: z.object({ wallMs: z.string() }) };
    await assert.rejects(
      agent.client.call(strict, {}),
      (err: unknown) => err instanceof TskvError && err.code === 'E_AGENT_PROTOCOL',
    );
  });

  test('closing stdin does not stop the agent; SIGTERM does, and removes its socket', async () => {
    agent.child.stdin?.end();
    assert.equal((await agent.client.call(routes.version, {})).pid, agent.child.pid);
    const code = await agent.stop();
    assert.equal(code, 0);
    assert.equal(existsSync(agent.socket), false);
    await assert.rejects(
      new Promise((resolve, reject) => connect(agent.socket).on('connect', resolve).on('error', reject)),
    );
  });
});

describe('an agent asked to exit once idle', () => {
  test('keeps serving while a connection is open, and exits when the last one closes', async () => {
    const agent = await startAgent();
    try {
      assert.deepEqual(await agent.client.call(routes.exitWhenIdle, {}), { exiting: true });
      assert.equal((await agent.client.call(routes.version, {})).apiVersion, AGENT_API_VERSION);
      await agent.client.close();
      assert.equal(await agent.exited, 0);
      assert.match(agent.stderr(), /stopping: asked to exit once idle/);
    } finally {
      if (agent.child.exitCode === null) await agent.stop();
    }
  });
});

import { randomUUID } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import type { ProbeConnectOutcome, ProbeListenResultResponse, routes } from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { wallClockMs } from '../system/clock.ts';
import { portUsage } from './ports.ts';
import type { Handler } from './types.ts';

interface Listener {
  server: Server;
  closed: boolean;
  connections: ProbeListenResultResponse['connections'];
}

/** Listeners are forgotten this long after they close, if nobody asked for their result. */
const FORGET_AFTER_MS = 120_000;
const listeners = new Map<string, Listener>();

function closeListener(id: string): void {
  const l = listeners.get(id);
  if (!l || l.closed) return;
  l.closed = true;
  l.server.close();
  setTimeout(() => listeners.delete(id), FORGET_AFTER_MS).unref();
}

/** Close every probe listener (agent shutdown). */
export function closeAllProbes(): void {
  for (const id of listeners.keys()) closeListener(id);
}

async function listenError(err: NodeJS.ErrnoException, address: string, port: number): Promise<AgentError> {
  const where = `${address}:${port}`;
  if (err.code === 'EADDRINUSE') {
    const holders = (await portUsage([port]))[0]?.listeners ?? [];
    const by = holders.find((h) => h.pid !== null);
    const who = by ? ` by ${by.command} (pid ${by.pid})` : '';
    return new AgentError('E_AGENT_ADDR_IN_USE', `cannot listen on ${where}: EADDRINUSE, in use${who}`, 409);
  }
  if (err.code === 'EADDRNOTAVAIL') {
    return new AgentError(
      'E_AGENT_ADDR_NOT_AVAILABLE',
      `cannot listen on ${where}: EADDRNOTAVAIL, not an address of this host`,
      400,
    );
  }
  if (err.code === 'EACCES')
    return new AgentError('E_AGENT_PERMISSION', `cannot listen on ${where}: EACCES`, 403);
  return new AgentError('E_AGENT_INTERNAL', `cannot listen on ${where}: ${err.code ?? err.message}`);
}

export const probeListen: Handler<typeof routes.probeListen> = async ({ address, port, durationMs }) => {
  const id = randomUUID();
  const listener: Listener = { server: createServer(), closed: false, connections: [] };
  listener.server.on('connection', (socket) => {
    listener.connections.push({
      remoteAddress: socket.remoteAddress ?? '?',
      remotePort: socket.remotePort ?? 0,
      atMs: wallClockMs(),
    });
    socket.on('error', () => {});
    socket.end(`tskv-probe ${id}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    listener.server.once('error', (err: NodeJS.ErrnoException) =>
      listenError(err, address, port).then(reject),
    );
    listener.server.listen({ host: address, port, exclusive: true }, () => resolve());
  });
  listener.server.on('error', () => {});
  listeners.set(id, listener);
  setTimeout(() => closeListener(id), durationMs).unref();
  return { id, address, port, closesAtMs: wallClockMs() + durationMs };
};

export const probeListenResult: Handler<typeof routes.probeListenResult> = async ({ id, close }) => {
  const l = listeners.get(id);
  if (!l)
    throw new AgentError(
      'E_AGENT_NOT_FOUND',
      `no probe listener ${id} (closed long ago, or the agent restarted)`,
      404,
    );
  if (close) closeListener(id);
  return { id, closed: l.closed, connections: [...l.connections] };
};

function outcomeOf(code: string | undefined): ProbeConnectOutcome {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
      return 'unreachable';
    case 'ETIMEDOUT':
      return 'timeout';
    default:
      return 'error';
  }
}

export const probeConnect: Handler<typeof routes.probeConnect> = ({ host, port, timeoutMs }) =>
  new Promise((resolve) => {
    const started = performance.now();
    const done = (outcome: ProbeConnectOutcome, err?: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({
        host,
        port,
        outcome,
        ...(err?.code ? { errno: err.code } : {}),
        ...(err ? { message: err.message } : {}),
        elapsedMs: performance.now() - started,
      });
    };
    const socket = connect({ host, port });
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    socket.once('connect', () => done('ok'));
    socket.once('error', (err: NodeJS.ErrnoException) => done(outcomeOf(err.code), err));
  });

import { randomUUID } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import type {
  ProbeConnectOutcome,
  ProbeConnectResponse,
  ProbeListenResponse,
  ProbeListenResultResponse,
  routes,
} from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { wallClockMs } from '../system/wall-clock.ts';
import { portUsage } from './ports.ts';
import type { Handler } from './types.ts';

interface Listener {
  server: Server;
  port: number;
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

/**
 * This agent's own open listeners on `ports`, closed: left by a run that was interrupted before it
 * collected them (the agent outlives its commands), they would read as "in use by tskv-agent".
 */
async function closeStaleListeners(ports: number[]): Promise<void> {
  const stale = [...listeners].filter(([, l]) => !l.closed && ports.includes(l.port));
  await Promise.all(
    stale.map(
      ([id, l]) =>
        new Promise<void>((resolve) => {
          l.server.once('close', () => resolve());
          closeListener(id);
        }),
    ),
  );
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

/** Bind a probe listener; rejects with the listen errno (EADDRINUSE, ...). */
async function openListener(address: string, port: number, durationMs: number): Promise<ProbeListenResponse> {
  const id = randomUUID();
  const listener: Listener = { server: createServer(), port, closed: false, connections: [] };
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
    listener.server.once('error', reject);
    listener.server.listen({ host: address, port, exclusive: true }, () => resolve());
  });
  listener.server.on('error', () => {});
  listeners.set(id, listener);
  setTimeout(() => closeListener(id), durationMs).unref();
  return { id, address, port, closesAtMs: wallClockMs() + durationMs };
}

export const probeListenFree: Handler<typeof routes.probeListenFree> = async ({
  address,
  ports,
  durationMs,
}) => {
  await closeStaleListeners(ports);
  const usage = await portUsage(ports);
  const opened: ProbeListenResponse[] = [];
  try {
    for (const [i, u] of usage.entries()) {
      if (u.inUse) continue;
      try {
        opened.push(await openListener(address, u.port, durationMs));
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        // Taken since the usage was read: report its holder, as if it had been held all along.
        const now = e.code === 'EADDRINUSE' ? (await portUsage([u.port]))[0] : undefined;
        if (!now?.inUse) throw await listenError(e, address, u.port);
        usage[i] = now;
      }
    }
  } catch (err) {
    for (const l of opened) closeListener(l.id);
    throw err;
  }
  return { ports: usage, listeners: opened };
};

function resultOf(id: string, l: Listener, close: boolean): ProbeListenResultResponse {
  if (close) closeListener(id);
  return { id, closed: l.closed, connections: [...l.connections] };
}

function notFound(ids: string[]): AgentError {
  return new AgentError(
    'E_AGENT_NOT_FOUND',
    `no probe listener ${ids.join(', ')} (closed long ago, or the agent restarted)`,
    404,
  );
}

/** The known listeners are closed even when some ids are unknown (then the reply is the 404). */
export const probeListenResults: Handler<typeof routes.probeListenResults> = async ({ ids, close }) => {
  const results: ProbeListenResultResponse[] = [];
  const missing: string[] = [];
  for (const id of ids) {
    const l = listeners.get(id);
    if (l) results.push(resultOf(id, l, close));
    else missing.push(id);
  }
  if (missing.length > 0) throw notFound(missing);
  return { results };
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

function connectOnce(host: string, port: number, timeoutMs: number): Promise<ProbeConnectResponse> {
  return new Promise((resolve) => {
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
}

export const probeConnectMany: Handler<typeof routes.probeConnectMany> = async ({ targets, timeoutMs }) => ({
  results: await Promise.all(targets.map((t) => connectOnce(t.host, t.port, timeoutMs))),
});

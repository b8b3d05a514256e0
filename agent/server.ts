import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AgentRoute, describeIssues, type ErrorBody, holdRoutes, routes } from './api/index.ts';
import { AgentError } from './errors.ts';
import { holdClusterLock } from './handlers/cluster-lock.ts';
import { handlers } from './handlers/index.ts';
import type { Handler, HandlerContext, HandlerTable } from './handlers/types.ts';

const MAX_BODY_BYTES = 1024 * 1024;

interface Entry {
  route: AgentRoute;
  handler: Handler<AgentRoute>;
}

function routeTable(served: HandlerTable): Map<string, Entry> {
  return new Map(
    (Object.keys(routes) as (keyof typeof routes)[]).map((name) => [
      `${routes[name].method} ${routes[name].path}`,
      { route: routes[name], handler: served[name] as Handler<AgentRoute> },
    ]),
  );
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: AgentError): void {
  const body: ErrorBody = { error: { code: err.code, message: err.message } };
  send(res, err.status, body);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new AgentError('E_AGENT_BAD_REQUEST', `request body over ${MAX_BODY_BYTES} bytes`, 413);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new AgentError('E_AGENT_BAD_REQUEST', 'request body is not JSON', 400);
  }
}

async function handle(
  table: Map<string, Entry>,
  req: IncomingMessage,
  res: ServerResponse,
  ctx: HandlerContext,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const hold = holdRoutes.lockHold;
  if (`${req.method} ${path}` === `${hold.method} ${hold.path}`) {
    const parsed = hold.request.safeParse(await readJson(req));
    if (!parsed.success)
      throw new AgentError('E_AGENT_BAD_REQUEST', `${hold.path}: ${describeIssues(parsed.error)}`, 400);
    return holdClusterLock(parsed.data, res, ctx.runDir);
  }
  const entry = table.get(`${req.method} ${path}`);
  if (!entry) throw new AgentError('E_AGENT_NOT_FOUND', `no route ${req.method} ${path}`, 404);
  const parsed = entry.route.request.safeParse(await readJson(req));
  if (!parsed.success) {
    throw new AgentError('E_AGENT_BAD_REQUEST', `${entry.route.path}: ${describeIssues(parsed.error)}`, 400);
  }
  const reply = entry.route.response.safeParse(await entry.handler(parsed.data, ctx));
  if (!reply.success) {
    throw new AgentError(
      'E_AGENT_INTERNAL',
      `${entry.route.path}: agent built a bad reply: ${describeIssues(reply.error)}`,
    );
  }
  send(res, 200, reply.data);
}

/**
 * The agent's HTTP server: routes from agent/api, requests and replies checked against their
 * schemas. `served` is for tests (handlers working on a temporary folder instead of the host).
 */
export function createAgentServer(ctx: HandlerContext, served: HandlerTable = handlers): Server {
  const table = routeTable(served);
  const server = createServer((req, res) => {
    handle(table, req, res, ctx).catch((err: unknown) => {
      const agentErr =
        err instanceof AgentError
          ? err
          : new AgentError('E_AGENT_INTERNAL', err instanceof Error ? err.message : String(err));
      if (!res.headersSent) sendError(res, agentErr);
      else res.destroy();
    });
  });
  // The client closes its idle connections itself. Node's default (the server closes one after 5 s
  // idle) raced the controller's next request after a quiet moment: under load the request went
  // out as the server closed the connection, and failed with "closed".
  server.keepAliveTimeout = 0;
  return server;
}

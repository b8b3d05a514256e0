import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handlers } from '../../../agent/handlers/index.ts';
import type { HandlerTable } from '../../../agent/handlers/types.ts';
import { createAgentServer } from '../../../agent/server.ts';

export interface RawReply {
  status: number;
  body: { error?: { code: string; message: string } } & Record<string, unknown>;
}

/**
 * POST `body` to the agent listening on `socket`, as any process that reaches the socket can:
 * no client-side schema, the status and the parsed reply as they come.
 */
export function rawPost(socket: string, path: string, body: unknown): Promise<RawReply> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath: socket,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
            });
          } catch (err) {
            reject(err);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

export interface SocketServer {
  socket: string;
  post(path: string, body: unknown): Promise<RawReply>;
  close(): Promise<void>;
}

/**
 * The agent's HTTP server (agent/server.ts) in this process on a temporary Unix socket, with
 * `served` in place of the host's handlers (handlers working on a temporary folder).
 */
export async function serveOnSocket(served: Partial<HandlerTable> = {}): Promise<SocketServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-server-'));
  const socket = join(dir, 'agent.sock');
  const server = createAgentServer({ buildId: 'test' }, { ...handlers, ...served });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, resolve);
  });
  return {
    socket,
    post: (path, body) => rawPost(socket, path, body),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

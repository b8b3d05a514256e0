import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { AgentClient } from '../../../controller/agent-client/client.ts';

export interface RunningAgent {
  child: ChildProcess;
  socket: string;
  ready: Record<string, unknown>;
  client: AgentClient;
  /** SIGTERM the agent (it outlives its stdin) and wait for the exit code. */
  stop(): Promise<number | null>;
  /** Resolves with the exit code once the agent has exited, for whatever reason. */
  exited: Promise<number | null>;
  /** What it wrote to stderr so far. */
  stderr(): string;
}

const ROOT = new URL('../../../', import.meta.url).pathname;

/**
 * Start the agent as a child (the pinned Node 24 on the sources, or a built runtime and code) on a
 * Unix socket: a temp one (removed by stop()) unless `at` names one.
 */
export async function startAgent(
  built?: [runtime: string, code: string],
  extraArgs: string[] = [],
  at?: string,
): Promise<RunningAgent> {
  const tempDir = at === undefined ? mkdtempSync(join(tmpdir(), 'tskv-agent-test-')) : undefined;
  const socket = at ?? join(tempDir!, 'run', 'agent.sock');
  const [cmd, args] = built
    ? [built[0], [built[1], 'serve', '--socket', socket, ...extraArgs]]
    : [process.execPath, [join(ROOT, 'agent/main.ts'), 'serve', '--socket', socket, ...extraArgs]];
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent not ready in 10 s: ${stderr}`)), 10_000);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as Record<string, unknown>);
    });
    child.once('exit', (code) => reject(new Error(`agent exited ${code}: ${stderr}`)));
  });
  const client = new AgentClient({ host: 'local', openStream: async () => connect(socket) });
  return {
    child,
    socket,
    ready,
    client,
    exited,
    stderr: () => stderr,
    async stop() {
      await client.close();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
      return code;
    },
  };
}

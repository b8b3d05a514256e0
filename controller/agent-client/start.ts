import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { HostConnection, RemoteProcess } from '../connect/index.ts';
import { shellQuote } from '../connect/index.ts';
import { TskvError } from '../errors.ts';

export interface StartAgentOptions {
  binary: string;
  socket: string;
  /** Hand the socket to this uid (the SSH user, when root comes through sudo). */
  ownerUid: number | undefined;
  readyTimeoutMs: number;
}

export interface AgentReady {
  ready: true;
  apiVersion: number;
  buildId: string;
  pid: number;
}

export interface StartedAgent {
  socket: string;
  ready: AgentReady;
  /** End the agent's stdin (it exits and removes its socket); kill the channel if it lingers. */
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 5_000;

function tail(text: string): string {
  const t = text.trim();
  return t.length > 500 ? `...${t.slice(-500)}` : t;
}

/** Start `tskv-agent serve` over SSH and wait for its one ready line on stdout. */
export async function startAgentProcess(
  conn: HostConnection,
  options: StartAgentOptions,
): Promise<StartedAgent> {
  const step = 'agent: start';
  const owner = options.ownerUid === undefined ? '' : ` --owner ${options.ownerUid}`;
  const proc: RemoteProcess = await conn.spawn(
    `exec ${shellQuote(options.binary)} serve --socket ${shellQuote(options.socket)}${owner}`,
    { step },
  );
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4096);
  });
  const fail = (message: string) => new TskvError('E_AGENT_START', message, { host: conn.host, step });
  const lines = createInterface({ input: proc.stdout as Readable });
  const ready = await new Promise<AgentReady>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill();
      reject(
        fail(`the agent did not report ready within ${options.readyTimeoutMs} ms ${tail(stderr)}`.trim()),
      );
    }, options.readyTimeoutMs);
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        const parsed = JSON.parse(line) as AgentReady;
        if (parsed.ready === true) return resolve(parsed);
      } catch {
        // fall through
      }
      proc.kill();
      reject(fail(`unexpected first line from the agent: ${tail(line)}`));
    });
    proc.exited.then((code) => {
      clearTimeout(timer);
      reject(fail(`the agent exited (code ${code}) before it was ready: ${tail(stderr) || 'no output'}`));
    });
  });
  lines.on('line', () => {}); // keep draining stdout
  let stopping: Promise<void> | undefined;
  return {
    socket: options.socket,
    ready,
    stop() {
      stopping ??= (async () => {
        proc.stdin.end();
        const timer = setTimeout(() => proc.kill(), STOP_GRACE_MS);
        await proc.exited.catch(() => null);
        clearTimeout(timer);
        lines.close();
      })();
      return stopping;
    },
  };
}

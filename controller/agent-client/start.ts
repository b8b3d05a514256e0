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
  /**
   * Start only if the binary is there with this size; otherwise the first line says what install
   * needs (one round trip for the common case of an installed agent). The socket goes to $SUDO_UID.
   */
  ifInstalledWithSize?: number;
}

/** The binary was not there (or not that build): what installing it needs to know. */
export interface AgentMissing {
  missing: true;
  hasZstd: boolean;
  sudoUid: number | undefined;
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
function startCommand(options: StartAgentOptions): string {
  const bin = shellQuote(options.binary);
  const serve = `${bin} serve --socket ${shellQuote(options.socket)}`;
  if (options.ifInstalledWithSize === undefined) {
    const owner = options.ownerUid === undefined ? '' : ` --owner ${options.ownerUid}`;
    return `exec ${serve}${owner}`;
  }
  return [
    `if [ -f ${bin} ] && [ "$(stat -c %s ${bin})" = ${options.ifInstalledWithSize} ]; then exec ${serve} \${SUDO_UID:+--owner "$SUDO_UID"}; fi`,
    'if command -v zstd >/dev/null 2>&1; then z=true; else z=false; fi',
    `printf '{"missing":true,"hasZstd":%s,"sudoUid":"%s"}\\n' "$z" "$SUDO_UID"`,
  ].join('\n');
}

export async function startAgentProcess(
  conn: HostConnection,
  options: StartAgentOptions,
): Promise<StartedAgent | AgentMissing> {
  const step = 'agent: start';
  const proc: RemoteProcess = await conn.spawn(startCommand(options), { step });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4096);
  });
  const fail = (message: string) => new TskvError('E_AGENT_START', message, { host: conn.host, step });
  const lines = createInterface({ input: proc.stdout as Readable });
  const first = await new Promise<AgentReady | AgentMissing>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill();
      reject(
        fail(`the agent did not report ready within ${options.readyTimeoutMs} ms ${tail(stderr)}`.trim()),
      );
    }, options.readyTimeoutMs);
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        const parsed = JSON.parse(line) as AgentReady | { missing: true; hasZstd: boolean; sudoUid: string };
        if ('ready' in parsed && parsed.ready === true) return resolve(parsed);
        if ('missing' in parsed && parsed.missing === true) {
          return resolve({
            missing: true,
            hasZstd: parsed.hasZstd,
            sudoUid: /^\d+$/.test(parsed.sudoUid) && conn.viaSudo ? Number(parsed.sudoUid) : undefined,
          });
        }
      } catch {
        // fall through
      }
      proc.kill();
      reject(fail(`unexpected first line from the agent: ${tail(line)}`));
    });
    let stdoutEnded = false;
    lines.once('close', () => {
      stdoutEnded = true;
    });
    proc.exited.then((code) => {
      // The exit status can arrive before buffered stdout is read: judge once stdout has ended.
      const gone = () => {
        clearTimeout(timer);
        reject(fail(`the agent exited (code ${code}) before it was ready: ${tail(stderr) || 'no output'}`));
      };
      if (stdoutEnded) gone();
      else lines.once('close', gone);
    });
  });
  if ('missing' in first) {
    lines.close();
    await proc.exited.catch(() => null);
    return first;
  }
  const ready = first;
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

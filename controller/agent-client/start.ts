import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { HostConnection, RemoteProcess } from '../connect/index.ts';
import { TskvError } from '../errors.ts';
import type { TransferMeter } from '../run/transfer.ts';
import { ChannelLines, type LineOutcome } from './channel-lines.ts';
import {
  type AgentFileKind,
  INSTALL_STEP_BY_EXIT,
  type StartScriptOptions,
  startScript,
} from './start-script.ts';

export interface StartAgentOptions extends StartScriptOptions {
  readyTimeoutMs: number;
  /** How long unpacking may take after the last byte was sent. Default 120 s. */
  installTimeoutMs?: number;
}

/** One of the agent's files, packed, streamed into the waiting start script. */
export interface AgentPayload {
  kind: AgentFileKind;
  encoding: 'zstd' | 'gzip';
  /** Bytes `data` yields: the host reads exactly this many. */
  size: number;
  data: Readable;
  /** Where the bytes come from, for messages. */
  source: string;
  /** Counts the bytes as the channel takes them. */
  meter?: TransferMeter;
}

/** A file of the build was not there: the start script waits for it on the same channel. */
export interface AgentMissing {
  missing: true;
  /** Which files the host lacks (of another size counts as lacking). */
  runtime: boolean;
  code: boolean;
  hasZstd: boolean;
  /** The host can fetch a relayed runtime (curl or wget, and sha256sum). */
  canFetch: boolean;
  sudoUid: number | undefined;
  /**
   * Before install(): the host fetches the runtime from another host's relay offer at `url` and
   * checks its size and sha256; on failure it waits for the runtime on this channel again.
   */
  relayRuntime(url: string): Promise<{ ok: true } | { ok: false; reason: string }>;
  /**
   * Stream the missing files to the host, in AGENT_FILE_KINDS order; once received whole each is
   * unpacked, checked and installed, then the agent is started.
   */
  install(payloads: AgentPayload[]): Promise<AgentStart>;
  /** Nothing will be sent: the script exits. */
  skip(): Promise<void>;
}

export interface AgentReady {
  ready: true;
  apiVersion: number;
  buildId: string;
  pid: number;
}

/** Another agent was serving the socket by the time this start got the lock. */
export interface AgentAlreadyRunning {
  alreadyRunning: true;
}

/** What a start ends with: this agent is serving, or another one is. */
export type AgentStart = AgentReady | AgentAlreadyRunning;

const STOP_GRACE_MS = 5_000;
const DEFAULT_INSTALL_TIMEOUT_MS = 120_000;
const START_STEP = 'agent: start';

function tail(text: string): string {
  const t = text.trim();
  return t.length > 500 ? `...${t.slice(-500)}` : t;
}

function parseFirstLine(
  line: string,
  viaSudo: boolean,
): AgentStart | Omit<AgentMissing, 'install' | 'skip' | 'relayRuntime'> | null {
  try {
    const parsed = JSON.parse(line) as
      | AgentStart
      | {
          missing: true;
          runtime: boolean;
          code: boolean;
          hasZstd: boolean;
          canFetch?: boolean;
          sudoUid: string;
        };
    if ('ready' in parsed && parsed.ready === true) return parsed;
    if ('alreadyRunning' in parsed && parsed.alreadyRunning === true) return { alreadyRunning: true };
    if ('missing' in parsed && parsed.missing === true) {
      return {
        missing: true,
        runtime: parsed.runtime === true,
        code: parsed.code === true,
        hasZstd: parsed.hasZstd,
        canFetch: parsed.canFetch === true,
        sudoUid: /^\d+$/.test(parsed.sudoUid) && viaSudo ? Number(parsed.sudoUid) : undefined,
      };
    }
  } catch {
    // not JSON: reported below
  }
  return null;
}

/** One spawned start script: its stdout lines, the tail of its stderr, and how to end it. */
class AgentChannel {
  readonly conn: HostConnection;
  readonly proc: RemoteProcess;
  readonly lines: ChannelLines;
  #stderr = '';

  constructor(conn: HostConnection, proc: RemoteProcess) {
    this.conn = conn;
    this.proc = proc;
    this.lines = new ChannelLines(proc);
    proc.stderr.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString('utf8')).slice(-4096);
    });
    // A write after the script exited (it stopped reading) must not crash the controller: the exit
    // status and stderr say what happened.
    proc.stdin.on('error', () => undefined);
  }

  get stderr(): string {
    return tail(this.#stderr);
  }

  startError(message: string): TskvError {
    return new TskvError('E_AGENT_START', message, { host: this.conn.host, step: START_STEP });
  }

  /** Why the agent did not print its ready line. */
  notReady(outcome: Exclude<LineOutcome, { line: string }>, timeoutMs: number): TskvError {
    if ('timedOut' in outcome) {
      this.proc.kill();
      return this.startError(`the agent did not report ready within ${timeoutMs} ms ${this.stderr}`.trim());
    }
    return this.startError(
      `the agent exited (code ${outcome.exited}) before it was ready: ${this.stderr || 'no output'}`,
    );
  }

  /** The start's line, parsed; anything else is an E_AGENT_START. */
  async expectStart(timeoutMs: number): Promise<AgentStart> {
    const outcome = await this.lines.next(timeoutMs);
    if (!('line' in outcome)) throw this.notReady(outcome, timeoutMs);
    const start = parseFirstLine(outcome.line, this.conn.viaSudo);
    if (start && !('missing' in start)) return this.started(start);
    this.proc.kill();
    throw this.startError(`unexpected line from the agent: ${tail(outcome.line)}`);
  }

  /** The agent lives on by itself: the script exits once its line is out, and that ends the channel. */
  started(start: AgentStart): AgentStart {
    this.lines.discardFurther(); // keep draining stdout
    this.proc.stdin.end();
    return start;
  }

  /** Ends stdin and waits for the exit; kills the channel after `graceMs`. */
  async #end(graceMs: number): Promise<number | null> {
    this.proc.stdin.end();
    const timer = setTimeout(() => this.proc.kill(), graceMs);
    const code = await this.proc.exited.catch(() => null);
    clearTimeout(timer);
    return code;
  }

  skip(): Promise<void> {
    this.proc.stdin.end('skip\n');
    return this.#end(STOP_GRACE_MS).then(() => this.lines.close());
  }

  installError(step: string, message: string, fix: string): TskvError {
    return new TskvError('E_AGENT_INSTALL', message, { host: this.conn.host, step: `agent: ${step}`, fix });
  }

  /**
   * Sends each payload after its header (with backpressure), then waits for the script's
   * "installed" line and the agent's ready line on the same channel.
   */
  async install(payloads: AgentPayload[], options: StartAgentOptions): Promise<AgentStart> {
    try {
      return await this.#install(payloads, options);
    } catch (err) {
      // A payload not yet sent is never read: destroyed, its bytes' lease is released all the same.
      for (const p of payloads) p.data.destroy();
      throw err;
    }
  }

  async #install(payloads: AgentPayload[], options: StartAgentOptions): Promise<AgentStart> {
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    const what = payloads.map((p) => `${p.kind} ${p.encoding}, ${mb(p.size)}`).join('; ');
    const dir = options.code.path.slice(0, options.code.path.lastIndexOf('/')) || '/';
    const fix = `check free space (df -h ${dir}) and that ${dir} is writable on the host; if the local build is damaged, run \`npm run build\``;
    const sending = (async () => {
      for (const payload of payloads) await this.#send(payload);
    })();
    const stopWaiting = new AbortController();
    const installTimeoutMs = options.installTimeoutMs ?? DEFAULT_INSTALL_TIMEOUT_MS;
    const sent = sending.then(
      () =>
        delay(installTimeoutMs, { timedOut: true as const }, { signal: stopWaiting.signal }).catch(
          () => new Promise<never>(() => {}),
        ),
      (err: unknown) => ({ localError: err }),
    );
    const outcome = await Promise.race([this.lines.next(), sent]);
    stopWaiting.abort();
    if ('localError' in outcome) {
      // Ending stdin makes the host's unpack fail on a short payload, and the script remove its
      // temporary file (a kill would leave it behind).
      const code = await this.#end(STOP_GRACE_MS);
      throw this.installError(
        'send the agent',
        `${(outcome.localError as Error).message}; the host's install script ended with code ${code}: ${this.stderr || 'no output'}`,
        'run `npm run build` to rebuild the agent',
      );
    }
    if ('timedOut' in outcome) {
      this.proc.kill();
      throw this.installError(
        'unpack',
        `unpacking the agent (${what}) did not finish within ${installTimeoutMs} ms after it was sent ${this.stderr}`.trim(),
        fix,
      );
    }
    if ('exited' in outcome) {
      const step = INSTALL_STEP_BY_EXIT[outcome.exited ?? -1] ?? 'install';
      const exit = outcome.exited === null ? 'no exit status: connection lost?' : `exit ${outcome.exited}`;
      throw this.installError(
        step,
        `installing the agent (${what}) failed at "${step}" (${exit}): ${this.stderr || 'no output'}`,
        fix,
      );
    }
    if (outcome.line !== '{"installed":true}') {
      this.proc.kill();
      throw this.installError(
        'install',
        `unexpected line while installing the agent: ${tail(outcome.line)}`,
        fix,
      );
    }
    return this.expectStart(options.readyTimeoutMs);
  }

  /** `runtime relay URL`; the script answers whether the runtime arrived, checked. */
  async relayRuntime(url: string, timeoutMs: number): Promise<{ ok: true } | { ok: false; reason: string }> {
    this.proc.stdin.write(`runtime relay ${url}\n`);
    const outcome = await this.lines.next(timeoutMs);
    if ('line' in outcome) {
      if (outcome.line === '{"relayed":true}') return { ok: true };
      try {
        const parsed = JSON.parse(outcome.line) as { relayFailed?: unknown };
        if (typeof parsed.relayFailed === 'string') return { ok: false, reason: parsed.relayFailed.trim() };
      } catch {
        // reported below
      }
      this.proc.kill();
      throw this.startError(`unexpected line while relaying the runtime: ${tail(outcome.line)}`);
    }
    if ('timedOut' in outcome) {
      this.proc.kill();
      throw this.startError(
        `relaying the runtime did not finish within ${timeoutMs} ms ${this.stderr}`.trim(),
      );
    }
    throw this.startError(
      `the start script exited (code ${outcome.exited}) while relaying the runtime: ${this.stderr || 'no output'}`,
    );
  }

  /** `kind encoding size`, then the bytes; rejects if the source fails or yields another size. */
  #send(payload: AgentPayload): Promise<void> {
    const { data, size } = payload;
    const stdin = this.proc.stdin;
    stdin.write(`${payload.kind} ${payload.encoding} ${size}\n`);
    return new Promise<void>((resolve, reject) => {
      let bytes = 0;
      const stopSending = (err: Error) => {
        data.unpipe(stdin);
        data.destroy();
        reject(err);
      };
      data.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        payload.meter?.add(chunk.length);
      });
      data.on('error', (err) => stopSending(new Error(`reading ${payload.source} failed: ${err.message}`)));
      data.on('end', () => {
        if (bytes === size) {
          payload.meter?.end();
          resolve();
        } else
          stopSending(
            new Error(`reading ${payload.source} failed: it has ${bytes} bytes, ${size} were announced`),
          );
      });
      // Once the script has exited, nothing more needs sending (and ssh2 would hold the writes).
      this.proc.exited.then(() => {
        data.unpipe(stdin);
        data.destroy();
      });
      data.pipe(stdin, { end: false });
    });
  }
}

/**
 * Run the start script over SSH and wait for its one line: the new agent is ready, another agent
 * already serves the socket, or the binary is missing (the script then waits for it).
 */
export async function startAgentProcess(
  conn: HostConnection,
  options: StartAgentOptions,
): Promise<AgentStart | AgentMissing> {
  const proc = await conn.spawn(startScript(options), { step: START_STEP });
  const ch = new AgentChannel(conn, proc);
  const outcome = await ch.lines.next(options.readyTimeoutMs);
  if (!('line' in outcome)) throw ch.notReady(outcome, options.readyTimeoutMs);
  const first = parseFirstLine(outcome.line, conn.viaSudo);
  if (first === null) {
    proc.kill();
    throw ch.startError(`unexpected first line from the agent: ${tail(outcome.line)}`);
  }
  if (!('missing' in first)) return ch.started(first);
  return {
    ...first,
    install: (payloads) => ch.install(payloads, options),
    skip: () => ch.skip(),
    relayRuntime: (url) => ch.relayRuntime(url, options.installTimeoutMs ?? DEFAULT_INSTALL_TIMEOUT_MS),
  };
}

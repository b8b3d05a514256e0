/** A live SSH connection to one host: commands, long-running processes, uploads, forwarded streams. */
import { constants } from 'node:os';
import type { Duplex, Readable } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import { TskvError } from '../errors.ts';
import { ChannelLimiter } from './channel-limiter.ts';
import { killTaggedScript, newRunId, type StopSignal, tagCommand } from './remote-kill.ts';
import { asRoot } from './shell.ts';
import type {
  ExecOptions,
  ExecResult,
  HostConnection,
  RemoteProcess,
  SpawnOptions,
  UploadOptions,
} from './types.ts';
import { uploadFile } from './upload.ts';

/**
 * OpenSSH's default MaxSessions is 10: keep two in reserve. It counts session channels (exec, sftp)
 * only; forwarded streams (the agent's socket, etcd's port) are not sessions and are not capped here.
 */
const MAX_SESSIONS = 8;
/** Retries of a refused session channel (25 ms doubling: ~3 s in all). */
const SESSION_RETRIES = 7;
const CLOSE_GRACE_MS = 1000;

export interface RunOptions extends Omit<ExecOptions, 'stdin'> {
  stdin?: string | Buffer | Readable;
}

function stepOf(command: string, step: string | undefined): string {
  if (step) return step;
  const first = command.trim().split('\n')[0] ?? '';
  return `run \`${first.length > 60 ? `${first.slice(0, 57)}...` : first}\``;
}

export class SshHostConnection implements HostConnection {
  readonly host: string;
  /** `address:port` for messages. */
  readonly endpoint: string;
  readonly #client: Client;
  readonly #limiter = new ChannelLimiter(MAX_SESSIONS);
  readonly #pending = new Set<(reason: string) => void>();
  readonly #onClose: () => void;
  #lostReason: string | undefined;
  #viaSudo = false;
  /** Why commands needing root cannot run (a non-root user without passwordless sudo). */
  #rootError: TskvError | undefined;

  /**
   * @param onClose runs once when the connection is closed or lost (e.g. to stop a proxy command).
   * @param lossDetail what else is known when the connection drops (e.g. the proxy command's stderr).
   */
  constructor(
    host: string,
    endpoint: string,
    client: Client,
    onClose: () => void = () => {},
    lossDetail: () => string | undefined = () => undefined,
  ) {
    this.host = host;
    this.endpoint = endpoint;
    this.#client = client;
    this.#onClose = onClose;
    let lastError = '';
    client.on('error', (err: Error) => {
      lastError = err.message;
    });
    const lost = (): void => {
      const detail = lossDetail();
      this.#markLost([lastError || 'the server or the network closed it', detail].filter(Boolean).join('; '));
    };
    client.on('end', lost);
    client.on('close', lost);
  }

  get viaSudo(): boolean {
    return this.#viaSudo;
  }

  /** Records how root is reached (set once after connect by the sudo check). */
  setRootAccess(viaSudo: boolean, error?: TskvError): void {
    this.#viaSudo = viaSudo;
    this.#rootError = error;
  }

  /** Set when the connection dropped or was closed; every later operation fails at once. */
  get lost(): string | undefined {
    return this.#lostReason;
  }

  #markLost(reason: string): void {
    if (this.#lostReason !== undefined) return;
    this.#lostReason = reason;
    const err = this.#lostError('open a channel');
    this.#limiter.rejectWaiting(err);
    for (const fail of [...this.#pending]) fail(reason);
    this.#pending.clear();
    this.#onClose();
  }

  #lostError(step: string): TskvError {
    return new TskvError('E_SSH_LOST', `connection lost to ${this.endpoint} (${this.#lostReason})`, {
      host: this.host,
      step,
      fix: 'check that the host is up and sshd is running, then run the command again',
    });
  }

  /** Runs body; rejects with "connection lost" naming the step if the connection drops first. */
  #guard<T>(step: string, body: () => Promise<T>): Promise<T> {
    if (this.#lostReason !== undefined) return Promise.reject(this.#lostError(step));
    return new Promise<T>((resolve, reject) => {
      const onLost = (): void => reject(this.#lostError(step));
      this.#pending.add(onLost);
      body()
        .then(resolve, reject)
        .finally(() => this.#pending.delete(onLost));
    });
  }

  /**
   * Opens a channel; a session channel within the MaxSessions budget, its slot freed when it closes.
   * A forwarded stream takes no slot: idle agent and etcd connections (kept alive for reuse) must
   * never hold up a command, nor a probe of etcd wait for them.
   * Session channels are retried a few times when sshd refuses them ("open failed"): it frees a
   * session one loop turn after the close handshake, so opens racing closes can hit MaxSessions.
   */
  async #channel(
    step: string,
    open: (cb: (err: Error | undefined, ch: ClientChannel) => void) => void,
    isSession = false,
    onOpen?: (ch: ClientChannel) => void,
  ): Promise<ClientChannel> {
    const release = isSession ? await this.#limiter.acquire() : () => {};
    for (let attempt = 0; ; attempt++) {
      if (this.#lostReason !== undefined) {
        release();
        throw this.#lostError(step);
      }
      try {
        const ch = await new Promise<ClientChannel>((resolve, reject) =>
          open((err, channel) => {
            if (err) return reject(err);
            // Synchronously, before any await: ssh2 may parse the open confirmation, the exit status
            // and the close of a short command from one read, and events emitted before a listener
            // exists are lost.
            // Not on 'exit': sshd frees the session only after the close handshake that follows it.
            channel.once('close', release);
            onOpen?.(channel);
            resolve(channel);
          }),
        );
        return ch;
      } catch (err) {
        const refused =
          (err as { reason?: number }).reason === 2 && /open failed/.test((err as Error).message);
        if (isSession && refused && attempt < SESSION_RETRIES) {
          await new Promise((r) => setTimeout(r, 25 * 2 ** attempt));
          continue;
        }
        release();
        if (this.#lostReason !== undefined) throw this.#lostError(step);
        throw new TskvError(
          'E_SSH_CHANNEL',
          `cannot open an SSH channel to ${this.endpoint}: ${(err as Error).message}`,
          {
            host: this.host,
            step,
            cause: err,
          },
        );
      }
    }
  }

  /** The command line sent to sshd; with a runId, tagged so that #stop can kill it (see remote-kill.ts). */
  #remoteCommand(command: string, root: boolean | undefined, runId?: string): string {
    const asRootUser = root ?? true;
    if (asRootUser && this.#rootError) throw this.#rootError;
    return asRoot(runId ? tagCommand(command, runId) : command, asRootUser && this.#viaSudo);
  }

  /**
   * Signals a tagged command on the host (best effort). KILL then closes its channel; after INT or
   * TERM the channel stays open for the command's exit status (its traps may still be cleaning up).
   */
  #stop(ch: ClientChannel, runId: string, root: boolean | undefined, signal: StopSignal = 'KILL'): void {
    ch.signal(signal);
    this.run(killTaggedScript(runId, signal), { root, step: 'stop a command', timeoutMs: undefined })
      .catch(() => undefined)
      .finally(() => {
        if (signal === 'KILL') ch.close();
      });
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    return this.run(command, options);
  }

  /** exec, with stdin also allowed to be a stream (used by upload). */
  run(command: string, options: RunOptions = {}): Promise<ExecResult> {
    const step = stepOf(command, options.step);
    return this.#guard(step, async () => {
      const runId = options.timeoutMs === undefined ? undefined : newRunId();
      const remote = this.#remoteCommand(command, options.root, runId);
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let code: number | null = null;
      let closed = false;
      let onClose: (() => void) | undefined;
      const ch = await this.#channel(
        step,
        (cb) => this.#client.exec(remote, cb),
        true,
        (c) => {
          c.on('data', (d: Buffer) => out.push(d));
          c.stderr.on('data', (d: Buffer) => err.push(d));
          c.on('exit', (exitCode: number | null, signal?: string) => {
            if (typeof exitCode === 'number') code = exitCode;
            else if (signal) code = 128 + (constants.signals[`SIG${signal}` as NodeJS.Signals] ?? 0);
          });
          c.on('close', () => {
            closed = true;
            onClose?.();
          });
        },
      );
      return new Promise<ExecResult>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        onClose = () => {
          clearTimeout(timer);
          if (this.#lostReason !== undefined) return reject(this.#lostError(step));
          const stdout = Buffer.concat(out).toString('utf8');
          const stderr = Buffer.concat(err).toString('utf8');
          if (code === null) {
            return reject(
              new TskvError('E_SSH_EXEC', `the command ended without an exit status: ${stderr.trim()}`, {
                host: this.host,
                step,
              }),
            );
          }
          resolve({ code, stdout, stderr });
        };
        if (closed) {
          onClose();
          return;
        }
        if (options.timeoutMs !== undefined) {
          timer = setTimeout(() => {
            if (runId) this.#stop(ch, runId, options.root);
            reject(
              new TskvError('E_SSH_TIMEOUT', `the command did not finish within ${options.timeoutMs} ms`, {
                host: this.host,
                step,
              }),
            );
          }, options.timeoutMs);
        }
        const input = options.stdin;
        if (input === undefined) ch.end();
        else if (typeof input === 'string' || Buffer.isBuffer(input)) ch.end(input);
        else {
          input.on('error', (e) => {
            ch.close();
            reject(
              new TskvError('E_SSH_EXEC', `reading the input failed: ${e.message}`, {
                host: this.host,
                step,
              }),
            );
          });
          input.pipe(ch);
        }
      });
    });
  }

  /**
   * A second session whose stdin stays open while the tagged command `runId` runs: a line on it
   * (the command ended) lets it go; its end without one (the connection dropped, this process
   * died: sshd then closes it) TERMs the command.
   */
  async #watchdog(step: string, runId: string, root: boolean | undefined): Promise<ClientChannel> {
    const script = `if ! read -r _; then ${killTaggedScript(runId, 'TERM')}; fi`;
    const remote = this.#remoteCommand(script, root);
    const dog = await this.#channel(step, (cb) => this.#client.exec(remote, cb), true);
    dog.resume();
    dog.stderr.resume();
    return dog;
  }

  spawn(command: string, options: SpawnOptions = {}): Promise<RemoteProcess> {
    const step = stepOf(command, options.step);
    return this.#guard(step, async () => {
      const runId = newRunId();
      const remote = this.#remoteCommand(command, options.root, runId);
      const dog = options.stopOnDisconnect ? await this.#watchdog(step, runId, options.root) : undefined;
      // ssh2 emits 'close' (which frees the channel slot) only once stdout was read to its end: a
      // caller that never read stdout is not interested in it, so it is drained once the process exits.
      let exitedWith: (code: number | null) => void = () => {};
      const exited = new Promise<number | null>((resolve) => {
        exitedWith = resolve;
      });
      const ch = await this.#channel(
        step,
        (cb) => this.#client.exec(remote, cb),
        true,
        (c) => {
          c.once('exit', (exitCode: number | null) => {
            // Not at once: the exit can arrive in the same read as the open, before the caller had
            // a turn to read stdout; resuming now would throw its output away.
            setImmediate(() => {
              if (c.readableFlowing === null) c.resume();
            });
            exitedWith(typeof exitCode === 'number' ? exitCode : null);
          });
          c.once('close', () => exitedWith(null));
          c.once('close', () => dog?.end('ended\n'));
        },
      ).catch((err: unknown) => {
        dog?.end('ended\n');
        throw err;
      });
      return {
        stdout: ch,
        stderr: ch.stderr,
        stdin: ch,
        exited,
        kill: (signal) => this.#stop(ch, runId, options.root, signal),
      };
    });
  }

  /** An interactive login shell on a pseudo-terminal, as the SSH user (`tskv ssh` without a command). */
  shell(window: { term: string; rows: number; cols: number }): Promise<ClientChannel> {
    const step = 'open a shell';
    return this.#guard(step, () =>
      this.#channel(step, (cb) => this.#client.shell({ ...window, width: 0, height: 0 }, cb), true),
    );
  }

  upload(
    data: Buffer | NodeJS.ReadableStream,
    remotePath: string,
    options: UploadOptions = {},
  ): Promise<void> {
    return uploadFile(this, data, remotePath, options);
  }

  /** sshd connects to the socket as the SSH user: through sudo users, a root-only socket is out of reach. */
  openUnixSocket(path: string): Promise<Duplex> {
    const step = `open Unix socket ${path}`;
    return this.#guard(step, () =>
      this.#channel(step, (cb) => this.#client.openssh_forwardOutStreamLocal(path, cb)).catch((err) => {
        if (!(err instanceof TskvError) || err.code !== 'E_SSH_CHANNEL' || !this.#viaSudo) throw err;
        throw new TskvError(
          'E_SSH_CHANNEL',
          `${err.message} (sshd opens ${path} as the SSH user, not as root)`,
          {
            host: this.host,
            step,
            cause: err.cause,
            fix: 'make the socket accessible to the SSH user (group or mode), or log in as root',
          },
        );
      }),
    );
  }

  openTcp(host: string, port: number): Promise<Duplex> {
    const step = `open TCP ${host}:${port}`;
    return this.#guard(step, () =>
      this.#channel(step, (cb) => this.#client.forwardOut('127.0.0.1', 0, host, port, cb)),
    );
  }

  /** Ends the session politely; the socket is destroyed if the server has not closed it within a second. */
  close(): void {
    this.#markLost('closed by tskv');
    this.#client.end();
    setTimeout(() => this.#client.destroy(), CLOSE_GRACE_MS).unref();
  }
}

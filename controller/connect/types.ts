import type { Duplex } from 'node:stream';
import type { TransferMeter } from '../run/transfer.ts';
import type { StopSignal } from './remote-kill.ts';

export interface ExecOptions {
  /** Bytes written to the command's stdin, then stdin is closed. */
  stdin?: string | Buffer;
  /** Run as root: prefixed with `sudo -n` when the SSH user is not root. Default true. */
  root?: boolean;
  /** Fails with a TskvError naming host and step if the command runs longer. */
  timeoutMs?: number;
  /** Label used in errors ("install etcd", ...). */
  step?: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions extends Omit<ExecOptions, 'stdin' | 'timeoutMs'> {
  /**
   * The process must not outlive this connection: should the connection drop (or this process die)
   * before it exits, it gets TERM. sshd keeps a session's processes running when its client goes.
   */
  stopOnDisconnect?: boolean;
}

/** A long-running remote process whose stdio is a stream (e.g. the agent-server). */
export interface RemoteProcess {
  stdout: NodeJS.ReadableStream;
  stderr: NodeJS.ReadableStream;
  stdin: NodeJS.WritableStream;
  /** Resolves with the exit code (or null if the channel closed without one). */
  exited: Promise<number | null>;
  /** Signals the process and its children (KILL by default, which also closes the channel). */
  kill(signal?: StopSignal): void;
}

export interface UploadOptions {
  mode?: number;
  /** Expected sha256 (hex) of the bytes; computed when omitted. The file is verified on the host before rename. */
  sha256?: string;
  step?: string;
  /** Counts the bytes as the channel takes them, and ends once the host has them all. */
  meter?: TransferMeter;
  /** Stops the upload: the bytes stop, the partial file is removed, and the upload throws. */
  signal?: AbortSignal;
}

/** One SSH connection to one host, reused for everything in a run. */
export interface HostConnection {
  readonly host: string;
  /** True when commands needing root run through `sudo -n`. */
  readonly viaSudo: boolean;
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  spawn(command: string, options?: SpawnOptions): Promise<RemoteProcess>;
  /** Upload to a temporary name, verify sha256 on the host, rename into place. */
  upload(data: Buffer | NodeJS.ReadableStream, remotePath: string, options?: UploadOptions): Promise<void>;
  /** A stream to a Unix socket on the host (OpenSSH streamlocal forwarding). */
  openUnixSocket(path: string): Promise<Duplex>;
  /** A stream to host:port as seen from the SSH host (direct-tcpip). */
  openTcp(host: string, port: number): Promise<Duplex>;
  close(): void;
}

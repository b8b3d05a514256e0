/**
 * Transfer progress, in one place: a meter counts the bytes of one file moving to one host, says
 * (at most 4 times a second, once it has taken a second) how far it is, and at its end gives the
 * figures every output mode reports: bytes, seconds, rate.
 *   live:  "agent runtime 12.3/34.1 MB 2.4 MB/s 9 s left"
 *   done:  "agent runtime 34.1 MB in 14.2 s (2.4 MB/s)"
 */
import { Readable, Transform } from 'node:stream';
import { type BackgroundLines, backgroundLines } from './background.ts';
import type { ProgressMode } from './progress.ts';

/** One finished transfer: what the plain and JSON outputs report. */
export interface TransferRecord {
  host: string;
  /** What moved ("agent runtime", "etcd tarball"). */
  what: string;
  bytes: number;
  seconds: number;
  bytesPerSecond: number;
}

/** A moment of a transfer in flight (or its end: done). */
export interface TransferUpdate {
  host: string;
  what: string;
  bytes: number;
  total: number;
  seconds: number;
  done: boolean;
  /** The transfer stopped before its end (with done: true); it has no record. */
  failed?: true;
}

export type TransferListener = (update: TransferUpdate) => void;

/** Redraws at most this often: 4 a second. */
export const REDRAW_MS = 250;
/** A transfer shorter than this shows only its end. */
export const SHOW_AFTER_MS = 1000;

export function formatMB(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

function rateOf(bytes: number, seconds: number): number {
  return seconds > 0 ? bytes / seconds : 0;
}

function formatSeconds(s: number): string {
  if (s < 60) return `${Math.ceil(s)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.ceil(s - m * 60)} s`;
}

/** The figures of a finished transfer (milliseconds, whole bytes a second). */
export function recordOf(u: TransferUpdate): TransferRecord {
  return {
    host: u.host,
    what: u.what,
    bytes: u.bytes,
    seconds: Math.round(u.seconds * 1000) / 1000,
    bytesPerSecond: Math.round(rateOf(u.bytes, u.seconds)),
  };
}

/** "agent runtime 12.3/34.1 MB 2.4 MB/s 9 s left" */
export function formatProgress(u: Pick<TransferUpdate, 'what' | 'bytes' | 'total' | 'seconds'>): string {
  const rate = rateOf(u.bytes, u.seconds);
  const left = rate > 0 ? ` ${formatSeconds(Math.max(0, u.total - u.bytes) / rate)} left` : '';
  return `${u.what} ${formatMB(u.bytes)}/${formatMB(u.total)} MB ${formatMB(rate)} MB/s${left}`;
}

/** "agent runtime 34.1 MB in 14.2 s (2.4 MB/s)" */
export function formatDone(r: Pick<TransferRecord, 'what' | 'bytes' | 'seconds'>): string {
  return `${r.what} ${formatMB(r.bytes)} MB in ${r.seconds.toFixed(1)} s (${formatMB(rateOf(r.bytes, r.seconds))} MB/s)`;
}

export interface MeterOptions {
  /** Milliseconds clock (tests). */
  now?: () => number;
}

/** Counts one transfer's bytes and tells `listener` how it goes. */
export class TransferMeter {
  readonly host: string;
  readonly what: string;
  readonly total: number;
  readonly #listener: TransferListener;
  readonly #now: () => number;
  /** When the first byte moved (set by the first add: opening a channel is not the transfer). */
  #start: number | undefined;
  #bytes = 0;
  #lastShown = Number.NEGATIVE_INFINITY;
  #record: TransferRecord | undefined;
  #failed = false;

  constructor(
    host: string,
    what: string,
    total: number,
    listener: TransferListener,
    options: MeterOptions = {},
  ) {
    this.host = host;
    this.what = what;
    this.total = total;
    this.#listener = listener;
    this.#now = options.now ?? (() => performance.now());
  }

  get bytes(): number {
    return this.#bytes;
  }

  #update(done: boolean): TransferUpdate {
    const now = this.#now();
    const seconds = (now - (this.#start ?? now)) / 1000;
    return { host: this.host, what: this.what, bytes: this.#bytes, total: this.total, seconds, done };
  }

  add(n: number): void {
    if (this.#record || this.#failed) return;
    const t = this.#now();
    this.#start ??= t;
    this.#bytes += n;
    if (t - this.#start < SHOW_AFTER_MS || t - this.#lastShown < REDRAW_MS) return;
    this.#lastShown = t;
    this.#listener(this.#update(false));
  }

  /** The transfer's end (once; later calls return the same figures). */
  end(): TransferRecord {
    if (!this.#record) {
      const u = this.#update(true);
      this.#record = recordOf(u);
      this.#listener(u);
    }
    return this.#record;
  }

  /** The transfer stopped short (once, and not after its end): the listener hears it is over. */
  fail(): void {
    if (this.#record || this.#failed) return;
    this.#failed = true;
    this.#listener({ ...this.#update(true), failed: true });
  }

  /** A pass-through stream that counts what flows through it. */
  counter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        this.add(chunk.length);
        cb(null, chunk);
      },
    });
  }
}

/** Chunk size of a buffer streamed to a host: backpressure then tracks what the SSH channel sent. */
const CHUNK = 256 * 1024;

/**
 * A buffer as a stream of views into it (no copies), so that a pipe into an SSH channel waits
 * for its window and a meter sees the bytes as they go, not all at once.
 */
export function chunked(data: Buffer, chunkSize = CHUNK): Readable {
  function* views(): Generator<Buffer> {
    for (let i = 0; i < data.length; i += chunkSize) yield data.subarray(i, i + chunkSize);
  }
  return Readable.from(views(), { objectMode: false });
}

/**
 * What a run shows of its transfers: live lines on a TTY (through `progress`, or for a transfer
 * outside any progress group under the group on screen), the end line in plain mode, and every
 * finished transfer kept for the JSON document.
 */
export class TransferLog {
  readonly records: TransferRecord[] = [];
  readonly #mode: ProgressMode;

  constructor(mode: ProgressMode) {
    this.#mode = mode;
  }

  /**
   * A listener for one host's transfers that writes its lines to `progress`: the end line, and
   * while it moves (on a TTY) how far it is. A transfer that fails says nothing more: its step
   * reports the failure.
   */
  listener(progress: (line: string) => void): TransferListener {
    return (u) => {
      if (u.failed) return;
      if (u.done) {
        const record = recordOf(u);
        this.records.push(record);
        progress(formatDone(record));
      } else if (this.#mode === 'tty') progress(formatProgress(u));
    };
  }

  /**
   * A listener for one host's transfer outside any progress group (the etcd tarball pushed while
   * preflight runs): on a TTY how far it is shows under the group on screen until it ends (a line
   * of its own would break the live view); plain output prints its end line; JSON has its record.
   */
  background(host: string, lines: BackgroundLines = backgroundLines): TransferListener {
    const record = this.listener((line) => {
      if (this.#mode === 'plain') process.stderr.write(`${host}: ${line}\n`);
    });
    return (u) => {
      if (u.done) {
        lines.set(host, undefined);
        record(u);
      } else if (this.#mode === 'tty') lines.set(host, formatProgress(u));
    };
  }
}

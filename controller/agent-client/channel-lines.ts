/** The stdout lines of a remote process, read one at a time, with its exit once stdout ends. */
import { createInterface, type Interface } from 'node:readline';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { RemoteProcess } from '../connect/index.ts';

export type LineOutcome = { line: string } | { exited: number | null } | { timedOut: true };

/** How long stderr may trail the exit (its last bytes make the error message). */
const STDERR_GRACE_MS = 1_000;

export class ChannelLines {
  readonly #proc: RemoteProcess;
  readonly #reader: Interface;
  readonly #queue: string[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  constructor(proc: RemoteProcess) {
    this.#proc = proc;
    this.#reader = createInterface({ input: proc.stdout as Readable });
    this.#reader.on('line', (line) => {
      this.#queue.push(line);
      this.#wake?.();
    });
    this.#reader.on('close', () => {
      this.#ended = true;
      this.#wake?.();
    });
  }

  /**
   * The next line; once stdout has ended, the exit code (judged only then: the exit status can
   * arrive before buffered stdout is read). Without a timeout it waits as long as it takes.
   */
  async next(timeoutMs?: number): Promise<LineOutcome> {
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        timedOut = true;
        this.#wake?.();
      }, timeoutMs);
    }
    try {
      while (this.#queue.length === 0 && !this.#ended && !timedOut) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    } finally {
      this.#wake = undefined;
      clearTimeout(timer);
    }
    const line = this.#queue.shift();
    if (line !== undefined) return { line };
    if (timedOut) return { timedOut: true };
    const exited = await this.#proc.exited.catch(() => null);
    await Promise.race([
      finished(this.#proc.stderr as Readable).catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, STDERR_GRACE_MS).unref()),
    ]);
    return { exited };
  }

  /** Keep reading stdout (it must not back up) but drop what comes. */
  discardFurther(): void {
    this.#queue.length = 0;
    this.#reader.removeAllListeners('line');
    this.#reader.on('line', () => {});
  }

  close(): void {
    this.#reader.close();
  }
}

/**
 * When a resident agent may exit: no connection open for `idleMs` (requests only arrive on
 * connections, and a slow request keeps its connection open). Once nobody can reach the agent any
 * more (its socket was removed or replaced), it exits as soon as its last connection closes.
 */
import type { Server } from 'node:http';

export class IdleTimer {
  readonly #idleMs: number;
  readonly #onIdle: () => void;
  #open = 0;
  #unreachable = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(idleMs: number, onIdle: () => void) {
    if (!(idleMs > 0)) throw new RangeError(`idle time must be positive, got ${idleMs}`);
    this.#idleMs = idleMs;
    this.#onIdle = onIdle;
    this.#arm();
  }

  get openConnections(): number {
    return this.#open;
  }

  opened(): void {
    this.#open++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  closed(): void {
    this.#open = Math.max(0, this.#open - 1);
    if (this.#open === 0) this.#arm();
  }

  /** No new connection can arrive: exit once the open ones have closed, without waiting out idleMs. */
  unreachable(): void {
    this.#unreachable = true;
    if (this.#open === 0) this.#arm();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#onIdle(), this.#unreachable ? 0 : this.#idleMs);
  }
}

/** Counts the server's connections into `timer`. */
export function trackConnections(server: Server, timer: IdleTimer): void {
  server.on('connection', (socket) => {
    timer.opened();
    socket.once('close', () => timer.closed());
  });
}

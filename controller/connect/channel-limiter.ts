/** Caps concurrently open SSH session channels below OpenSSH's MaxSessions (10); further opens wait their turn. */
export class ChannelLimiter {
  readonly #max: number;
  #open = 0;
  readonly #waiting: Array<{ resolve: () => void; reject: (err: unknown) => void }> = [];

  constructor(max: number) {
    this.#max = max;
  }

  get open(): number {
    return this.#open;
  }

  /** Resolves with a release function once a slot is free. Call release exactly once. */
  async acquire(): Promise<() => void> {
    if (this.#open >= this.#max) {
      await new Promise<void>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    } else {
      this.#open++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next.resolve();
      else this.#open--;
    };
  }

  /** Fails everything still waiting (the connection is gone). */
  rejectWaiting(err: unknown): void {
    for (const w of this.#waiting.splice(0)) w.reject(err);
  }
}

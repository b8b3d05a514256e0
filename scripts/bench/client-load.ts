/**
 * Client traffic during a membership change: sequential keys written and read back through every
 * member's endpoint (with failover, as etcd's clients do). Bounded: at most `maxRequests`
 * requests, a pause after each failure, and it stops when told.
 */
import { performance } from 'node:perf_hooks';
import type { EtcdCluster } from '../../controller/etcd/index.ts';

export interface LoadCounts {
  requests: number;
  failedRequests: number;
  acknowledgedWrites: number;
  /** Longest time between two successful requests (from the first success on). */
  longestStallMs: number;
}

export interface ClientLoadOptions {
  maxRequests?: number;
  pauseAfterFailureMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ClientLoad {
  readonly #cluster: EtcdCluster;
  readonly #prefix: string;
  readonly #acknowledged: string[] = [];
  readonly #maxRequests: number;
  readonly #pauseMs: number;
  #requests = 0;
  #failed = 0;
  #lastOk: number | undefined;
  #longestStall = 0;
  #running = true;
  readonly #done: Promise<void>;

  constructor(cluster: EtcdCluster, prefix: string, options: ClientLoadOptions = {}) {
    this.#cluster = cluster;
    this.#prefix = prefix;
    this.#maxRequests = options.maxRequests ?? 100_000;
    this.#pauseMs = options.pauseAfterFailureMs ?? 50;
    this.#done = this.#loop();
  }

  #value(i: number): string {
    return `v${i}`;
  }

  #key(i: number): string {
    return `${this.#prefix}/${String(i).padStart(7, '0')}`;
  }

  async #attempt(request: () => Promise<boolean>): Promise<boolean> {
    this.#requests++;
    const ok = await request().catch(() => false);
    const now = performance.now();
    if (ok) {
      if (this.#lastOk !== undefined) this.#longestStall = Math.max(this.#longestStall, now - this.#lastOk);
      this.#lastOk = now;
    } else {
      this.#failed++;
      await sleep(this.#pauseMs);
    }
    return ok;
  }

  async #loop(): Promise<void> {
    let i = 0;
    while (this.#running && this.#requests < this.#maxRequests) {
      const key = this.#key(i);
      const value = this.#value(i);
      const written = await this.#attempt(async () => {
        await this.#cluster.put(key, value);
        return true;
      });
      if (!written) continue;
      this.#acknowledged.push(key);
      i++;
      await this.#attempt(async () => (await this.#cluster.get(key))?.value === value);
    }
  }

  /** Resolves once `count` writes were acknowledged (or the load ended). */
  async warmedUp(count = 5, timeoutMs = 30_000): Promise<boolean> {
    const deadline = performance.now() + timeoutMs;
    while (this.#acknowledged.length < count && this.#running && performance.now() < deadline)
      await sleep(20);
    return this.#acknowledged.length >= count;
  }

  async stop(): Promise<LoadCounts> {
    this.#running = false;
    await this.#done;
    return {
      requests: this.#requests,
      failedRequests: this.#failed,
      acknowledgedWrites: this.#acknowledged.length,
      longestStallMs: this.#longestStall,
    };
  }

  async #readsBack(index: number): Promise<boolean> {
    const key = this.#acknowledged[index]!;
    for (let attempt = 0; attempt < 3; attempt++) {
      const kv = await this.#cluster.get(key).catch(() => null);
      if (kv !== null) return kv?.value === this.#value(index);
      await sleep(200); // no endpoint answered: ask again rather than call the write lost
    }
    return false;
  }

  /** The acknowledged keys that do not read back with their value now. */
  async lost(): Promise<string[]> {
    const missing: string[] = [];
    for (let start = 0; start < this.#acknowledged.length; start += 50) {
      const indexes = Array.from(
        { length: Math.min(50, this.#acknowledged.length - start) },
        (_, j) => start + j,
      );
      const found = await Promise.all(indexes.map((i) => this.#readsBack(i)));
      indexes.forEach((i, j) => {
        if (!found[j]) missing.push(this.#acknowledged[i]!);
      });
    }
    return missing;
  }
}

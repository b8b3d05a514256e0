/**
 * Who sends a file to whom, so that the controller's link carries each file about once (issue 16):
 * the first host that needs a file gets it directly from the controller; hosts needing the same
 * file wait for that copy to land, then pull it from a host that has it (relay.ts). Every host
 * that has the file serves it (fan out), each to at most `maxPullsPerSource` hosts at a time. When
 * the direct push fails, the next waiter becomes the direct one; when no host can serve, waiters
 * are sent directly too. Pure bookkeeping: no I/O, the callers settle every claim.
 */

/** A host that has the file and can offer it: `offer(to)` gives the URL `to` may fetch it from once. */
export interface RelaySource {
  name: string;
  offer(to: string): Promise<string>;
}

/** The controller sends the file: `landed(source)` once it is there (with the host if it can serve it), else `failed()`. */
export interface DirectClaim {
  role: 'direct';
  landed(source?: RelaySource): void;
  failed(): void;
}

/**
 * Pull the file from `from`; `done(ok)` when finished. A failed pull then goes direct, outside the
 * board, and `from` serves no one else: a host that refused (ufw, nftables) or could not be reached
 * from here would only cost every other waiter the same failed try.
 */
export interface PullClaim {
  role: 'pull';
  from: RelaySource;
  done(ok?: boolean): void;
}

export type Claim = DirectClaim | PullClaim;

interface Holder {
  source: RelaySource;
  pulls: number;
}

interface FileState {
  holders: Holder[];
  directInFlight: boolean;
  wake: (() => void)[];
  /** Hosts expected to say whether they have the file (expect()); none: decide at once. */
  expected: Set<string>;
  /** Hosts that said so: added as holders, claimed it, or passed. */
  declared: Set<string>;
  /** Holders a pull failed from: they serve this file to no one else, even if added again. */
  failed: Set<string>;
  /** Past this time a claim stops waiting for undeclared hosts (a host that never says is no reason to hang). */
  deadline: number | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** How long a claim waits for the expected hosts to say whether they have the file. */
export const DECLARE_GRACE_MS = 5_000;

export class RelayBoard {
  readonly maxPullsPerSource: number;
  readonly #files = new Map<string, FileState>();

  constructor(maxPullsPerSource = 2) {
    this.maxPullsPerSource = maxPullsPerSource;
  }

  #state(key: string): FileState {
    let s = this.#files.get(key);
    if (!s) {
      s = {
        holders: [],
        directInFlight: false,
        wake: [],
        expected: new Set(),
        declared: new Set(),
        failed: new Set(),
        deadline: undefined,
        timer: undefined,
      };
      this.#files.set(key, s);
    }
    return s;
  }

  #notify(s: FileState): void {
    const wake = s.wake.splice(0);
    for (const w of wake) w();
  }

  /**
   * `names` will each say whether they have `key` (add, claim or pass): until they have, or
   * DECLARE_GRACE_MS passed, nobody gets it directly, so a host that has it already (a member,
   * when a fresh host joins) serves it instead of the controller's link.
   */
  expect(key: string, names: string[]): void {
    for (const n of names) this.#state(key).expected.add(n);
  }

  /** `name` neither has `key` nor will claim it (it failed, or cannot take part). */
  pass(key: string, name: string): void {
    const s = this.#state(key);
    s.declared.add(name);
    this.#notify(s);
  }

  /** `source` has the file `key` and can serve it (once per host name). */
  add(key: string, source: RelaySource): void {
    const s = this.#state(key);
    s.declared.add(source.name);
    if (!s.failed.has(source.name) && !s.holders.some((h) => h.source.name === source.name))
      s.holders.push({ source, pulls: 0 });
    this.#notify(s);
  }

  /** How `receiver` gets the file `key`: pulled from a holder, or sent directly (see the class comment). */
  async claim(key: string, receiver: string): Promise<Claim> {
    const s = this.#state(key);
    s.declared.add(receiver);
    s.deadline ??= Date.now() + DECLARE_GRACE_MS;
    this.#notify(s);
    for (;;) {
      const claim = this.#tryClaim(key, s, receiver);
      if (claim) return claim;
      await new Promise<void>((resolve) => s.wake.push(resolve));
    }
  }

  /** Every expected host has said whether it has the file, or the grace is over (a timer wakes the waiters then). */
  #settledWho(s: FileState): boolean {
    if ([...s.expected].every((n) => s.declared.has(n))) return true;
    const left = (s.deadline ?? 0) - Date.now();
    if (left <= 0) return true;
    // unref: a grace still running never keeps the CLI from exiting.
    s.timer ??= setTimeout(() => {
      s.timer = undefined;
      this.#notify(s);
    }, left).unref();
    return false;
  }

  #tryClaim(key: string, s: FileState, receiver: string): Claim | undefined {
    const others = s.holders.filter((h) => h.source.name !== receiver);
    const free = others.filter((h) => h.pulls < this.maxPullsPerSource).sort((a, b) => a.pulls - b.pulls)[0];
    if (free) {
      free.pulls++;
      let settled = false;
      return {
        role: 'pull',
        from: free.source,
        done: (ok = true) => {
          if (settled) return;
          settled = true;
          free.pulls--;
          if (!ok) {
            s.holders = s.holders.filter((h) => h !== free);
            s.failed.add(free.source.name);
          }
          this.#notify(s);
        },
      };
    }
    // Every holder busy: wait for one. Nothing there and nothing on its way: this one goes direct.
    if (others.length > 0 || s.directInFlight) return undefined;
    if (!this.#settledWho(s)) return undefined;
    s.directInFlight = true;
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      s.directInFlight = false;
      return true;
    };
    return {
      role: 'direct',
      landed: (source) => {
        if (!settle()) return;
        if (source) this.add(key, source);
        else this.#notify(s);
      },
      failed: () => {
        if (settle()) this.#notify(s);
      },
    };
  }
}

/**
 * Trying alternatives one after another without waiting on a hung one: the first of several
 * hosts that answers, say, while the usual case costs a single attempt.
 */

/** Every attempt failed: their errors, in the order of the items. */
export class AllFailed extends Error {
  readonly errors: unknown[];

  constructor(errors: unknown[]) {
    super(`all ${errors.length} attempts failed`);
    this.name = 'AllFailed';
    this.errors = errors;
  }
}

/**
 * The first result of `attempt` over `items`, tried in order: the next one starts as soon as one
 * fails, or when the latest has not settled within `staggerMs`. Attempts already started are not
 * cancelled. Rejects with AllFailed when every one fails.
 */
export function firstSuccess<I, T>(
  items: readonly I[],
  attempt: (item: I) => Promise<T>,
  staggerMs: number,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const errors: unknown[] = new Array(items.length);
    let started = 0;
    let failed = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const startNext = () => {
      clearTimeout(timer);
      if (done || started >= items.length) return;
      const i = started++;
      if (started < items.length) timer = setTimeout(startNext, staggerMs);
      attempt(items[i]!).then(
        (value) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          errors[i] = err;
          if (++failed === items.length) {
            done = true;
            reject(new AllFailed(errors));
          } else startNext();
        },
      );
    };
    if (items.length === 0) reject(new AllFailed([]));
    else startNext();
  });
}

import { setTimeout as delay } from 'node:timers/promises';
import { TskvError } from './errors.ts';

export interface WaitOptions {
  /** Give up after this long (from the first call). */
  deadlineMs: number;
  /** Pause between polls; default 100 ms. */
  intervalMs?: number;
  /** What is awaited, for the timeout message: "the learner to catch up". */
  describe: string;
  /** Errors for which waiting is pointless (rethrown at once). Other errors count as "not yet". */
  isFatal?: (err: unknown) => boolean;
  /** Stops waiting (the abort reason is thrown). */
  signal?: AbortSignal;
  /** Included in the timeout error (e.g. `host`), and its `fix` hint. */
  host?: string;
  fix?: string;
}

/**
 * Polls `condition` until it returns a value other than `undefined`, `null` or `false`, and returns
 * that value. Thrown errors count as "not yet" unless `isFatal` says otherwise; the last one is
 * reported if the deadline passes. This is how callers wait: never a fixed sleep.
 */
export async function waitFor<T>(
  condition: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  options: WaitOptions,
): Promise<T> {
  const start = Date.now();
  const interval = options.intervalMs ?? 100;
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      const value = await condition();
      if (value !== undefined && value !== null && value !== false) return value;
      lastError = undefined;
    } catch (err) {
      if (options.isFatal?.(err)) throw err;
      lastError = err;
    }
    const elapsed = Date.now() - start;
    if (elapsed + interval > options.deadlineMs) {
      const seconds = (options.deadlineMs / 1000).toFixed(1);
      // The last error, if any, is the cause: formatError prints it after the message.
      throw new TskvError(
        'E_TIMEOUT',
        `timed out after ${seconds}s (${attempt} tries) waiting for ${options.describe}`,
        {
          ...(options.host === undefined ? {} : { host: options.host }),
          ...(options.fix === undefined ? {} : { fix: options.fix }),
          ...(lastError === undefined ? {} : { cause: lastError }),
        },
      );
    }
    await delay(interval, undefined, options.signal ? { signal: options.signal } : {});
  }
}

/**
 * Calls `fn` until it succeeds, retrying (within the deadline) only while `retryable(err)` says
 * the refusal is temporary, e.g. promote's "learner not in sync" or a membership change refused
 * as "unhealthy cluster" in the first 5 s after the members connected. Other errors throw at once.
 */
export async function retryWhile<T>(
  fn: () => Promise<T>,
  retryable: (err: unknown) => boolean,
  options: Omit<WaitOptions, 'isFatal'>,
): Promise<T> {
  const result = await waitFor(async () => ({ value: await fn() }), {
    ...options,
    isFatal: (err) => !retryable(err),
  });
  return result.value;
}

/**
 * `read`, shared while it runs: a call made while a reading is in flight gets that reading; a call
 * after it settled reads again (nothing is cached). For costly readings that concurrent requests
 * ask for at the same moment, as preflight does with facts, firewall state and port use.
 */
export function sharedWhileRunning<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    running ??= read().finally(() => {
      running = undefined;
    });
    return running;
  };
}

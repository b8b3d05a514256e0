/** Ctrl-C (and TERM, HUP) while a command streams a remote process: it stops, and says so in its exit code. */
import { constants } from 'node:os';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export interface StopSignals {
  /** Aborted by the first stop signal. */
  signal: AbortSignal;
  /** 128 + the first stop signal's number, once one came. */
  exitCode(): number | undefined;
  release(): void;
}

export function stopOnSignals(): StopSignals {
  const stop = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    stoppedBy ??= signal;
    stop.abort();
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  return {
    signal: stop.signal,
    exitCode: () => (stoppedBy ? 128 + constants.signals[stoppedBy] : undefined),
    release: () => {
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
    },
  };
}

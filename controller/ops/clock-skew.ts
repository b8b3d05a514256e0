/** NTP-style clock offset estimation over the agent channel, and the skew verdict. Pure. */

/** One round trip: controller clock before sending, the host's reading, controller clock on reply (ms). */
export interface ClockSample {
  sentAt: number;
  hostTime: number;
  receivedAt: number;
}

export interface ClockOffset {
  /** Host clock minus controller clock, ms. */
  offsetMs: number;
  /** Half the round trip of the best sample: the true offset lies within offsetMs ± errorMs. */
  errorMs: number;
}

/** etcd warns above 1 s of difference between peers ("the clock difference against peer ... is too high"). */
export const SKEW_FAIL_MS = 1000;
export const SKEW_WARN_MS = 500;

/** The offset from the sample with the shortest round trip (least queueing, tightest bound). */
export function estimateOffset(samples: ClockSample[]): ClockOffset {
  if (samples.length === 0) throw new Error('no clock samples');
  let best = samples[0]!;
  for (const s of samples) if (s.receivedAt - s.sentAt < best.receivedAt - best.sentAt) best = s;
  const rtt = Math.max(0, best.receivedAt - best.sentAt);
  return { offsetMs: best.hostTime - (best.sentAt + best.receivedAt) / 2, errorMs: rtt / 2 };
}

export interface SkewVerdict {
  status: 'ok' | 'warn' | 'fail';
  /** Largest pairwise difference between hosts' offsets, ms. */
  maxSkewMs: number;
  /** The two hosts furthest apart (undefined with fewer than two hosts). */
  pair: [string, string] | undefined;
  /** The host furthest from the median: the one to fix. */
  outlier: string | undefined;
}

/**
 * Judges pairwise skew between hosts. The error bounds are subtracted so a slow round trip
 * cannot by itself fail a cluster whose clocks agree.
 */
export function judgeSkew(offsets: Map<string, ClockOffset>): SkewVerdict {
  const entries = [...offsets.entries()];
  if (entries.length < 2) return { status: 'ok', maxSkewMs: 0, pair: undefined, outlier: undefined };
  let lo = entries[0]!;
  let hi = entries[0]!;
  for (const e of entries) {
    if (e[1].offsetMs < lo[1].offsetMs) lo = e;
    if (e[1].offsetMs > hi[1].offsetMs) hi = e;
  }
  const maxSkewMs = hi[1].offsetMs - lo[1].offsetMs;
  const provenSkew = maxSkewMs - hi[1].errorMs - lo[1].errorMs;
  const status = provenSkew > SKEW_FAIL_MS ? 'fail' : provenSkew > SKEW_WARN_MS ? 'warn' : 'ok';
  const sorted = entries.map((e) => e[1].offsetMs).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const outlier = Math.abs(hi[1].offsetMs - median) >= Math.abs(lo[1].offsetMs - median) ? hi[0] : lo[0];
  return { status, maxSkewMs, pair: [lo[0], hi[0]], outlier };
}

export function formatOffset(o: ClockOffset): string {
  const sign = o.offsetMs >= 0 ? '+' : '-';
  return `${sign}${(Math.abs(o.offsetMs) / 1000).toFixed(3)}s ±${(o.errorMs / 1000).toFixed(3)}s`;
}

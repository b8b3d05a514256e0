/**
 * ssh2's keepalive counts only replies to its pings: every interval without one it sends another,
 * and after keepaliveCountMax unanswered it declares the connection lost. During a big upload over a
 * slow link the ping waits behind the data already queued (the channel window, the socket buffers)
 * and so does its reply: a 7-host run at 20 Mbit/s once lost a host mid agent upload. Here every
 * byte that arrives from the host (the window adjusts acknowledging an upload, command output)
 * counts as a reply: the count restarts. A host from which nothing arrives is still declared lost
 * (keepaliveCountMax + 1) intervals after its last byte, as before after its last reply.
 */
import type ssh2 from 'ssh2';

/** ssh2's own keepalive restart (Client#_resetKA, set by connect()) and its transport. */
interface KeepaliveInternals {
  _resetKA?: () => void;
  _sock?: NodeJS.ReadableStream;
}

/**
 * After `client` is ready: bytes from the host restart ssh2's keepalive count (at most 5 times an
 * interval, so a stream of small packets does not rearm the timer for each). False when this ssh2
 * has not the internals it relies on (then only ping replies count, as ssh2 does by itself).
 */
export function countIncomingAsAlive(client: ssh2.Client, intervalMs: number): boolean {
  const internals = client as unknown as KeepaliveInternals;
  const reset = internals._resetKA;
  const sock = internals._sock;
  if (typeof reset !== 'function' || !sock || intervalMs <= 0) return false;
  const every = intervalMs / 5;
  let last = performance.now();
  sock.on('data', () => {
    const now = performance.now();
    if (now - last < every) return;
    last = now;
    reset();
  });
  return true;
}

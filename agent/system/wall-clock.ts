/**
 * The wall clock in ms since the epoch with sub-ms precision.
 *
 * Date.now() follows the real-time clock but has 1 ms steps; performance.now() is fine-grained but
 * monotonic, so `timeOrigin + now()` drifts away from the wall clock when the clock is stepped or
 * slewed (exactly what clock checks must see). So: align the two at a Date.now() tick edge, and
 * re-align whenever the extrapolation disagrees with Date.now() by more than a millisecond.
 */
let alignedWall = 0;
let alignedPerf = Number.NEGATIVE_INFINITY;

function align(): void {
  const start = Date.now();
  let now = start;
  const deadline = performance.now() + 5;
  while (now === start && performance.now() < deadline) now = Date.now();
  alignedWall = now;
  alignedPerf = performance.now();
}

export function wallClockMs(): number {
  const extrapolated = alignedWall + (performance.now() - alignedPerf);
  const coarse = Date.now();
  if (!(extrapolated >= coarse - 1 && extrapolated <= coarse + 2)) align();
  return alignedWall + (performance.now() - alignedPerf);
}

/**
 * deploy's clock steps: a host whose skew failed preflight is asked to sync (its time service with
 * the inventory's servers, or a one-shot step to the controller's clock with --step-clock); then
 * every host is measured again until the clocks agree. Still skewed: an error naming host and
 * offset, unless --allow-skew.
 */
import { routes } from '../../agent/api/index.ts';
import { describeCause, TskvError } from '../errors.ts';
import { type ClockOffset, formatOffset, judgeSkew } from '../ops/clock-skew.ts';
import { waitFor } from '../wait.ts';
import { controllerNow, measureClock } from './clock-measure.ts';
import type { HostChannel, Session } from './session.ts';

const SAMPLES = 3;
const SETTLE_MS = 10_000;

async function measureAll(session: Session): Promise<Map<string, ClockOffset>> {
  const entries = await Promise.all(
    [...session.hosts].map(async ([name, ch]) => [name, await measureClock(ch.agent, SAMPLES)] as const),
  );
  return new Map(entries);
}

export interface ClockOptions {
  stepClock: boolean;
  allowSkew: boolean;
}

/**
 * What syncing each host did, or why it could not: the check after the syncs names it. A sync that
 * fails is not the end (the clock may be right by then); a clock still off is.
 */
export type ClockSyncs = Map<string, { actions: string[]; problem?: string }>;

export async function syncClock(
  ch: HostChannel,
  session: Session,
  options: ClockOptions,
  syncs: ClockSyncs,
): Promise<string[]> {
  try {
    const rtt = (await measureClock(ch.agent, SAMPLES)).errorMs;
    const r = await ch.agent.call(
      routes.clockSync,
      {
        servers: session.inventory.time.servers,
        ...(options.stepClock ? { stepToMs: controllerNow() + rtt } : {}),
      },
      { step: 'sync clock' },
    );
    syncs.set(ch.spec.name, { actions: r.actions });
    return r.actions;
  } catch (err) {
    syncs.set(ch.spec.name, { actions: [], problem: describeCause(err) });
    return [`could not sync the clock: ${describeCause(err)}`];
  }
}

/** Waits until the clocks agree; throws E_CLOCK_SKEW when they do not (a warning with --allow-skew). */
export async function checkClocksAgree(
  session: Session,
  options: ClockOptions,
  syncs: ClockSyncs,
): Promise<string[]> {
  const allFailed = [...syncs.values()].every((s) => s.problem !== undefined);
  let offsets = await measureAll(session);
  try {
    await waitFor(
      async () => {
        offsets = await measureAll(session);
        return judgeSkew(offsets).status !== 'fail';
      },
      { deadlineMs: allFailed ? 1 : SETTLE_MS, intervalMs: 500, describe: 'clocks to agree' },
    );
    return [];
  } catch {
    // still skewed
  }
  const verdict = judgeSkew(offsets);
  const host = verdict.outlier ?? [...syncs.keys()][0] ?? '?';
  const o = offsets.get(host);
  const sync = syncs.get(host);
  const why = sync?.problem ?? (sync?.actions.join('; ') || 'its time service did not bring it in line');
  const message = `clock is ${o ? formatOffset(o) : '?'} off the controller (largest skew ${(verdict.maxSkewMs / 1000).toFixed(3)}s) and could not be fixed: ${why}`;
  if (options.allowSkew) return [`warning: ${host}: ${message}; continuing (--allow-skew)`];
  throw new TskvError('E_CLOCK_SKEW', message, {
    host,
    step: 'clock',
    fix: `set ${host}'s clock (or let tskv step it: --step-clock), or accept the skew with --allow-skew`,
  });
}

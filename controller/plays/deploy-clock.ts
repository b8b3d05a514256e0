/**
 * Clock: hosts whose skew failed preflight are asked to sync (their time service, servers from the
 * inventory; or a one-shot step to the controller's clock with --step-clock), then every host is
 * measured again. Still skewed: an error naming host and offset, unless --allow-skew.
 */
import { routes } from '../../agent/api/index.ts';
import { describeCause, TskvError } from '../errors.ts';
import { waitFor } from '../etcd/index.ts';
import { type ClockOffset, formatOffset, judgeSkew } from '../ops/clock.ts';
import { controllerNow, measureClock } from './clock.ts';
import type { Session } from './session.ts';

const SAMPLES = 3;
const SETTLE_MS = 10_000;

async function measureAll(session: Session): Promise<Map<string, ClockOffset>> {
  const entries = await Promise.all(
    [...session.hosts].map(async ([name, ch]) => [name, await measureClock(ch.agent, SAMPLES)] as const),
  );
  return new Map(entries);
}

export interface ClockFixOptions {
  stepClock: boolean;
  allowSkew: boolean;
  /** Progress and warnings for the operator. */
  log: (line: string) => void;
}

/** Returns the actions taken per host; throws when skew remains and --allow-skew was not given. */
export async function fixClocks(
  session: Session,
  skewed: string[],
  options: ClockFixOptions,
): Promise<Map<string, string[]>> {
  const actions = new Map<string, string[]>();
  const problems = new Map<string, string>();
  await Promise.all(
    skewed.map(async (name) => {
      const ch = session.hosts.get(name)!;
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
        actions.set(name, r.actions);
      } catch (err) {
        problems.set(name, describeCause(err));
      }
    }),
  );
  let offsets = await measureAll(session);
  try {
    offsets = await waitFor(
      async () => {
        const o = await measureAll(session);
        return judgeSkew(o).status !== 'fail' ? o : undefined;
      },
      {
        deadlineMs: problems.size === skewed.length ? 1 : SETTLE_MS,
        intervalMs: 500,
        describe: 'clocks to agree',
      },
    );
    return actions;
  } catch {
    // fall through: still skewed
  }
  const verdict = judgeSkew(offsets);
  const host = verdict.outlier ?? skewed[0] ?? '?';
  const o = offsets.get(host);
  const why =
    problems.get(host) ?? (actions.get(host)?.join('; ') || 'its time service did not bring it in line');
  const message = `clock is ${o ? formatOffset(o) : '?'} off the controller (largest skew ${(verdict.maxSkewMs / 1000).toFixed(3)}s) and could not be fixed: ${why}`;
  if (options.allowSkew) {
    options.log(`warning: ${host}: ${message}; continuing (--allow-skew)`);
    return actions;
  }
  throw new TskvError('E_CLOCK_SKEW', message, {
    host,
    step: 'clock',
    fix: `set ${host}'s clock (or let tskv step it: --step-clock), or accept the skew with --allow-skew`,
  });
}

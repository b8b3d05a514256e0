import { hostname } from 'node:os';
import type { routes } from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { deniedToSetClock, hasCapSysTime, stepClockStep } from '../system/clock-step.ts';
import { runCommand } from '../system/run.ts';
import { applySteps, type RunCommand, StepFailed } from '../system/steps.ts';
import { detectTimeService, planTimeSync } from '../system/time-service.ts';
import { wallClockMs } from '../system/wall-clock.ts';
import type { Handler } from './types.ts';

export interface ClockSyncOptions {
  run?: RunCommand;
  capSysTime?: () => boolean;
  now?: () => number;
  hostname?: () => string;
}

/** A step closer than this to the requested time is not worth making (the request's own error is larger). */
const STEP_TOLERANCE_MS = 10;

/**
 * Make the host's time service sync (with `servers` when given), and with `stepToMs` set the
 * clock once. A host without CAP_SYS_TIME answers E_AGENT_PERMISSION.
 */
export function makeClockSync(options: ClockSyncOptions = {}): Handler<typeof routes.clockSync> {
  const run = options.run ?? runCommand;
  const now = options.now ?? wallClockMs;
  return async ({ servers, stepToMs }) => {
    const receivedAt = performance.now();
    const host = (options.hostname ?? hostname)();
    const denied = () =>
      new AgentError(
        'E_AGENT_PERMISSION',
        `cannot set the clock on ${host}: operation not permitted (no CAP_SYS_TIME)`,
        403,
      );
    if (stepToMs !== undefined && !(options.capSysTime ?? hasCapSysTime)()) throw denied();
    const found = await detectTimeService(run);
    const plan = await planTimeSync(run, found, servers);
    if (found.service === 'none' && servers.length > 0) {
      plan.actions.push(`no time service found to give ${servers.join(', ')} to`);
    }
    // The requested reading moved on by the time spent here, at the moment it is needed.
    const target = () => (stepToMs ?? 0) + (performance.now() - receivedAt);
    const offset = stepToMs === undefined ? 0 : target() - now();
    const step = Math.abs(offset) >= STEP_TOLERANCE_MS;
    if (step) plan.actions.push(`step the clock by ${offset >= 0 ? '+' : ''}${offset.toFixed(1)} ms`);
    const changed = plan.steps.length > 0 || step;
    if (!changed && plan.actions.length === 0 && found.service === 'none') {
      return { changed, actions: ['no time service found'], service: found.service };
    }
    if (changed) {
      try {
        await applySteps(plan.steps, run);
        if (step) await applySteps([stepClockStep(target())], run);
      } catch (err) {
        if (err instanceof StepFailed && deniedToSetClock(err.result?.stderr ?? '')) throw denied();
        throw new AgentError('E_AGENT_COMMAND_FAILED', err instanceof Error ? err.message : String(err));
      }
    }
    return { changed, actions: plan.actions, service: found.service };
  };
}

export const clockSync = makeClockSync();

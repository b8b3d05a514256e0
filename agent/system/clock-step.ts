import { readFileSync } from 'node:fs';
import { command, type Step } from './steps.ts';

const CAP_SYS_TIME = 25;

/** Whether this process may set the clock: CAP_SYS_TIME in its effective capabilities (/proc/self/status). */
export function hasCapSysTime(status = readFileSync('/proc/self/status', 'utf8')): boolean {
  const hex = /^CapEff:\s*([0-9a-f]+)$/im.exec(status)?.[1];
  if (!hex) return false;
  return ((BigInt(`0x${hex}`) >> BigInt(CAP_SYS_TIME)) & 1n) === 1n;
}

/** `date -u -s @SECONDS.FRACTION`: set the wall clock (clock_settime) to `targetMs`. */
export function stepClockStep(targetMs: number): Step {
  return command('date', ['-u', '-s', `@${(targetMs / 1000).toFixed(3)}`], 5_000);
}

/** Whether a failed clock command failed for want of permission. */
export function deniedToSetClock(stderr: string): boolean {
  return /operation not permitted|EPERM/i.test(stderr);
}

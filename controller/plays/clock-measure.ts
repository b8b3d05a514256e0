/** Measures a host's clock offset over its agent channel: a few `clock` round trips, the tightest one wins. */
import { routes } from '../../agent/api/index.ts';
import type { AgentClient } from '../agent-client/client.ts';
import { type ClockOffset, type ClockSample, estimateOffset } from '../ops/clock-skew.ts';

/** This machine's wall clock, ms, at sub-millisecond resolution. */
export const controllerNow = (): number => performance.timeOrigin + performance.now();

/** Host clock minus this machine's, from `samples` sequential round trips. */
export async function measureClock(agent: AgentClient, samples: number): Promise<ClockOffset> {
  const taken: ClockSample[] = [];
  for (let i = 0; i < samples; i++) {
    const sentAt = controllerNow();
    const { wallMs } = await agent.call(routes.clock, {}, { step: 'clock' });
    taken.push({ sentAt, hostTime: wallMs, receivedAt: controllerNow() });
  }
  return estimateOffset(taken);
}

import type { routes } from '../api/index.ts';
import { wallClockMs } from '../system/wall-clock.ts';
import type { Handler } from './types.ts';

export const clock: Handler<typeof routes.clock> = async () => ({ wallMs: wallClockMs() });

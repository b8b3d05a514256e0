import type { AgentRoute, ParsedRequestOf, ResponseOf, Routes } from '../api/index.ts';

export interface HandlerContext {
  buildId: string;
  /** Where the cluster lock and its owner record live (default /run/tskv; tests give their own). */
  runDir?: string;
  /** Makes the agent exit once its last connection closes (serve sets it). */
  exitWhenIdle?: () => void;
}

export type Handler<R extends AgentRoute> = (
  request: ParsedRequestOf<R>,
  ctx: HandlerContext,
) => Promise<ResponseOf<R>>;

/** One handler per route: the compiler insists that every route in the table is served. */
export type HandlerTable = { [K in keyof Routes]: Handler<Routes[K]> };

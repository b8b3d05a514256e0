import { AGENT_API_VERSION, type routes } from '../api/index.ts';
import type { Handler } from './types.ts';

export const version: Handler<typeof routes.version> = async (_request, ctx) => ({
  apiVersion: AGENT_API_VERSION,
  buildId: ctx.buildId,
  nodeVersion: process.version,
  pid: process.pid,
});

export const exitWhenIdle: Handler<typeof routes.exitWhenIdle> = async (_request, ctx) => {
  ctx.exitWhenIdle?.();
  return { exiting: true };
};

import type { AgentRoute } from '../api/index.ts';
import type { Handler } from './types.ts';

/** Placeholder for a route whose handler has not landed yet: answers 500 with a clear message. */
export function notYet<R extends AgentRoute>(name: string): Handler<R> {
  return async () => {
    throw new Error(`${name} is not implemented by this agent build`);
  };
}

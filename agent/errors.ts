import type { AgentErrorCode } from './api/index.ts';

/** A failure the agent reports on purpose: becomes the `{error: {code, message}}` body with this HTTP status. */
export class AgentError extends Error {
  readonly code: AgentErrorCode;
  readonly status: number;

  constructor(code: AgentErrorCode, message: string, status = 500) {
    super(message);
    this.name = 'AgentError';
    this.code = code;
    this.status = status;
  }
}

/** A request the agent refuses on principle (a path, program or unit tskv never uses): 403. */
export function refused(message: string): AgentError {
  return new AgentError('E_AGENT_REFUSED', message, 403);
}

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

import { z } from 'zod';

/** Error codes the agent puts in error bodies; the controller turns them into TskvError codes. */
export const AGENT_ERROR_CODES = [
  'E_AGENT_BAD_REQUEST',
  'E_AGENT_NOT_FOUND',
  'E_AGENT_INTERNAL',
  'E_AGENT_ADDR_IN_USE',
  'E_AGENT_ADDR_NOT_AVAILABLE',
  'E_AGENT_PERMISSION',
  /** The request asks for something tskv never does (a path, program or unit outside its own): 403. */
  'E_AGENT_REFUSED',
  'E_AGENT_COMMAND_FAILED',
  'E_AGENT_LOCKED',
  /** The host's `etcd` account cannot run etcd (uid 0, not a system account) or cannot be made. */
  'E_AGENT_ACCOUNT',
  /** Not enough free space for what the request would write (a snapshot): 507, nothing written. */
  'E_AGENT_NO_ROOM',
  /** A download the agent was asked for failed (refused URL or redirect, HTTP error, too big, cut): 502. */
  'E_AGENT_DOWNLOAD',
  /** A download's bytes do not have the sha256 the request says (422, nothing kept), or a file's (409, not used). */
  'E_AGENT_SHA256',
] as const;

export type AgentErrorCode = (typeof AGENT_ERROR_CODES)[number];

/** Every non-2xx reply of the agent has this body. */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
  }),
});

export type ErrorBody = z.infer<typeof errorBodySchema>;

/** A zod error's issues as one line: "field.path: what is wrong; ...". */
export function describeIssues(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
}

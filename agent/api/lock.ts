import { z } from 'zod';

/** Who runs a changing command: named to whoever finds the cluster locked. */
export const lockOwnerSchema = z
  .object({
    /** The operator's login on the controller machine. */
    user: z.string().max(64),
    /** The controller machine's hostname. */
    controller: z.string().max(255),
    pid: z.number().int().positive(),
    /** The command line, e.g. "tskv deploy inventories/prod.yaml --yes". */
    command: z.string().max(1000),
    /** ISO time the lock was asked for. */
    since: z.string().max(40),
  })
  .strict();
export type LockOwner = z.infer<typeof lockOwnerSchema>;

/** "user@controller (pid N, since T): command", as whoever finds the cluster locked reads it. */
export function describeLockOwner(o: LockOwner): string {
  return `${o.user}@${o.controller} (pid ${o.pid}, since ${o.since}): ${o.command}`;
}

/**
 * POST /v1/lock/hold: the cluster lock on this host, for as long as the connection that asked for
 * it stays open (the reply's first line says so, and the reply never ends). A killed controller's
 * connection closes, and the lock with it. `breakHolder`: end the current holder's hold first.
 */
export const lockHoldRequestSchema = z
  .object({ owner: lockOwnerSchema, breakHolder: z.boolean().default(false) })
  .strict();
export const lockHoldResponseSchema = z.object({
  held: z.literal(true),
  /** Whose lock was broken to get it, when breakHolder was set and someone held it. */
  broke: lockOwnerSchema.nullable(),
});
export type LockHoldResponse = z.infer<typeof lockHoldResponseSchema>;

/**
 * Stopping a remote command. OpenSSH ignores the SSH "signal" request for root logins ("session
 * signalling requires privilege separation") and keeps a session open while its process runs, so
 * commands that may need stopping carry a marker in their environment, and stopping them kills
 * every process on the host that inherited it.
 */
import { randomBytes } from 'node:crypto';
import { shellQuote } from '../render/shell-quote.ts';

const VAR = 'TSKV_RUN';

export function newRunId(): string {
  return randomBytes(8).toString('hex');
}

/**
 * The command run by a shell that has the marker in its initial environment (so the shell itself,
 * not only its children, is found). Goes inside any sudo wrapping, which resets the environment.
 */
export function tagCommand(command: string, runId: string): string {
  return `exec env ${VAR}=${runId} /bin/sh -c ${shellQuote(command)}`;
}

/** The signals a tagged command can be stopped with: INT (a Ctrl-C) and TERM let its traps clean up, KILL cannot be caught. */
export type StopSignal = 'INT' | 'TERM' | 'KILL';

/** A POSIX sh script that sends `signal` to every process whose environment holds the marker. */
export function killTaggedScript(runId: string, signal: StopSignal = 'KILL'): string {
  return (
    `for p in /proc/[0-9]*; do ` +
    `if tr '\\000' '\\n' < "$p/environ" | grep -qx '${VAR}=${runId}'; then kill -${signal} "\${p#/proc/}"; fi; ` +
    `done 2>/dev/null; true`
  );
}

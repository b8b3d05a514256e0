/** What the commands of locked plays (certs rotate, restore) share: the session around the play, and its output. */
import { EXIT_FAILED, EXIT_OK, formatErrorDocument } from '../errors.ts';
import type { Inventory } from '../inventory/model.ts';
import type { PlayResult } from '../plays/locked-play.ts';
import { openSession, type Session } from '../plays/session.ts';
import { progressMode } from '../run/progress.ts';

/** Opens the hosts, runs the play, closes them (a dry run leaves no agent it started), prints, exits. */
export async function runPlayCommand<R extends PlayResult<unknown>>(
  inv: Inventory,
  dryRun: boolean,
  play: (session: Session) => Promise<R>,
  print: (result: R) => void,
): Promise<number> {
  const session = await openSession(inv, progressMode(false));
  let result: R;
  try {
    result = await play(session);
  } finally {
    await session.close({ leaveNoAgent: dryRun });
  }
  print(result);
  return result.ok ? EXIT_OK : EXIT_FAILED;
}

/**
 * Each host's actions on stderr, then the failure ("`what` failed: ...") or the dry run on stdout;
 * true when the play ran and its own lines follow.
 */
export function printPlayResult(r: PlayResult<unknown>, what: string): boolean {
  for (const [where, lines] of Object.entries(r.actions)) {
    for (const line of lines) process.stderr.write(`  ${where}: ${line}\n`);
  }
  if (r.error) {
    process.stdout.write(`${what} failed: ${formatErrorDocument(r.error)}\n`);
    return false;
  }
  if (r.dryRun) {
    process.stdout.write('dry run: nothing was changed\n');
    return false;
  }
  return true;
}

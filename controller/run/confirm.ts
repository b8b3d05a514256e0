/** Asking before a command removes or restarts something: --yes answers for scripts; without a TTY and without --yes, refuse. */
import { createInterface } from 'node:readline/promises';
import { TskvError } from '../errors.ts';

async function askYesNo(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/**
 * Resolves true to go ahead, false when the operator said no. `what` completes "this would ...".
 * Throws E_NOT_CONFIRMED (exit 1) when there is no TTY to ask on and `yes` was not given.
 */
export async function confirmChange(yes: boolean, what: string, rerun: string): Promise<boolean> {
  if (yes) return true;
  if (!process.stdin.isTTY) {
    throw new TskvError('E_NOT_CONFIRMED', `this would ${what}; refusing without a TTY to ask on`, {
      step: 'confirm',
      fix: `review it with --dry-run, then re-run with --yes: ${rerun}`,
    });
  }
  return askYesNo(`This will ${what}. Continue? [y/N] `);
}

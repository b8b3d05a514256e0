/** What membership-changing commands (replace, recover) share: their flags, the --json document, the actions printed. */
import type { RunResult } from '../run/runner.ts';

/** --yes, --dry-run, --json, --break-lock. */
export const CHANGE_FLAGS = {
  yes: { type: 'boolean', short: 'y' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  'break-lock': { type: 'boolean' },
} as const;

/**
 * --json: one document on stdout, also when the run fails (then with the error as errorDocument
 * says it); `documented` tells whether it was written.
 */
export function jsonDocument(json: boolean): { write(doc: object): void; readonly documented: boolean } {
  let documented = false;
  return {
    write(doc) {
      if (json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
      documented = true;
    },
    get documented() {
      return documented;
    },
  };
}

/** What each host's steps did, on stderr (not with --json: the document has them). */
export function printActions(run: RunResult, json: boolean): void {
  if (json) return;
  for (const [where, lines] of Object.entries(run.actions))
    for (const l of lines) process.stderr.write(`  ${where}: ${l}\n`);
}

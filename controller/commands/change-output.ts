/** What membership-changing commands (replace, recover) share: their flags, the --json document, the actions printed. */
import { errorDocument } from '../errors.ts';
import type { Inventory } from '../inventory/model.ts';
import { type DriftProblem, formatDrift } from '../ops/membership.ts';
import { LiveCluster } from '../plays/live-cluster.ts';
import { openSession, type Session } from '../plays/session.ts';
import { type ProgressMode, progressMode } from '../run/progress.ts';
import type { RunResult } from '../run/runner.ts';

/** --yes, --dry-run, --json, --break-lock. */
export const CHANGE_FLAGS = {
  yes: { type: 'boolean', short: 'y' },
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  'break-lock': { type: 'boolean' },
} as const;

/** --no-snapshot, for the commands whose plan takes the automatic snapshot. */
export const NO_SNAPSHOT_FLAG = { 'no-snapshot': { type: 'boolean' } } as const;

/**
 * --json: one document on stdout, also when the run fails (then with the error as errorDocument
 * says it); `documented` tells whether it was written.
 */
export interface JsonDocument {
  write(doc: object): void;
  readonly documented: boolean;
}

export function jsonDocument(json: boolean): JsonDocument {
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

/** Whether the inventory and the cluster agree after the change, as the closing line(s). */
export function driftText(drift: DriftProblem[]): string {
  return drift.length === 0
    ? 'the inventory and the cluster agree\n'
    : `the inventory and the cluster still differ:\n${formatDrift(drift)}\n`;
}

export interface ChangeContext {
  session: Session;
  live: LiveCluster;
  doc: JsonDocument;
  mode: ProgressMode;
  /** Text for the operator on stdout (nothing with --json). */
  out(text: string): void;
}

/**
 * Connects to the inventory's hosts, runs `body` and always closes what it opened (a dry run leaves
 * no agent behind); with --json a failure is the document when `body` wrote none.
 */
export async function withLiveCluster(
  inv: Inventory,
  flags: { json?: boolean | undefined; 'dry-run'?: boolean | undefined },
  body: (c: ChangeContext) => Promise<number>,
): Promise<number> {
  const json = flags.json ?? false;
  const mode = progressMode(json);
  const session = await openSession(inv, mode);
  const live = new LiveCluster(session);
  const doc = jsonDocument(json);
  const out = (text: string) => {
    if (!json) process.stdout.write(text);
  };
  try {
    for (const u of session.unreachable) process.stderr.write(`warning: ${u.host}: ${u.observed}\n`);
    return await body({ session, live, doc, mode, out });
  } catch (err) {
    if (!doc.documented) doc.write({ ok: false, error: errorDocument(err) });
    throw err;
  } finally {
    await live.close();
    await session.close({ leaveNoAgent: flags['dry-run'] ?? false });
  }
}

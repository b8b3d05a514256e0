/**
 * A resumable command's record of itself, kept in etcd while its plan runs: written before its
 * first change to the cluster, cleared after its last, so a re-run (by any operator) knows a run
 * was under way. Writes are compare-and-swap against what this run last read or wrote, so the
 * record also keeps two membership changes from running at once.
 */
import type { z } from 'zod';
import { describeCause, TskvError } from '../errors.ts';
import type { EtcdCluster } from '../etcd/index.ts';
import type { Step } from '../plan/plan.ts';

/** Where a replacement records itself (outside any application prefix). */
export const JOURNAL_KEY = '__tskv/replace-in-progress';
/** Where a recovery from a lost quorum records itself. */
export const RECOVER_JOURNAL_KEY = '__tskv/recover-in-progress';

export type JournalStep = Step & ({ kind: 'record'; record: unknown } | { kind: 'clear-record' });

export function isJournalStep(step: Step): step is JournalStep {
  return step.kind === 'record' || step.kind === 'clear-record';
}

export class Journal {
  /** The record's text as this run last read or wrote it (undefined: absent). */
  #text: string | undefined;
  readonly #cluster: () => EtcdCluster;
  readonly #key: string;

  constructor(cluster: () => EtcdCluster, key = JOURNAL_KEY) {
    this.#cluster = cluster;
    this.#key = key;
  }

  /** The record, validated; a record that does not parse is reported, never acted on. */
  async read<S extends z.ZodType>(schema: S): Promise<z.infer<S> | undefined> {
    const kv = await this.#cluster().get(this.#key);
    this.#text = kv?.value;
    if (!kv) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(kv.value);
    } catch (err) {
      throw unreadable(this.#key, describeCause(err));
    }
    const checked = schema.safeParse(parsed);
    if (!checked.success)
      throw unreadable(
        this.#key,
        checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    return checked.data;
  }

  async write(record: unknown): Promise<void> {
    const text = JSON.stringify(record);
    await this.#swap(text, 'record the run');
    this.#text = text;
  }

  async clear(): Promise<void> {
    await this.#swap(undefined, 'clear the record');
    this.#text = undefined;
  }

  apply(step: JournalStep): Promise<void> {
    return step.kind === 'record' ? this.write(step.record) : this.clear();
  }

  async #swap(text: string | undefined, step: string): Promise<void> {
    if (text === undefined && this.#text === undefined) return;
    if (await this.#cluster().swapIf(this.#key, this.#text, text)) return;
    throw new TskvError(
      'E_CONCURRENT_CHANGE',
      `another tskv run changed the cluster's record ${this.#key} meanwhile; this run stops here`,
      {
        step,
        fix: 'tskv status shows the change in progress; re-run the same command once the other run has ended',
      },
    );
  }
}

function unreadable(key: string, why: string): TskvError {
  return new TskvError('E_JOURNAL_INVALID', `the record at ${key} in etcd is not one tskv wrote: ${why}`, {
    step: 'read the run record',
    fix: `look at it (etcdctl get ${key}); once nothing is running, delete it (etcdctl del ${key}) and re-run`,
  });
}

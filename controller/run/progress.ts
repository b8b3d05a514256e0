/**
 * Progress on stderr through listr2 (its only importer with tty-view.ts, its view on a TTY): a live
 * tree on a TTY, plain lines otherwise, nothing under --json.
 */
import { Listr, ListrLogger, type ListrRendererValue, ProcessOutput } from 'listr2';
import { TtyView } from './tty-view.ts';

export type ProgressMode = 'tty' | 'plain' | 'silent';

export function progressMode(json: boolean): ProgressMode {
  if (json) return 'silent';
  return process.stderr.isTTY ? 'tty' : 'plain';
}

/** A line of progress on a task's own line ("pushing etcd-v3.4.23-linux-amd64.tar.zst"). */
export type Progress = (line: string) => void;

export type HostOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Where progress is drawn: stderr, so that stdout stays the command's result (check lines, plans, JSON); tests give a fake terminal. */
export type ProgressStream = NodeJS.WriteStream;

function rendererOptions(mode: ProgressMode, stream: ProgressStream) {
  const logger = new ListrLogger({ processOutput: new ProcessOutput(stream, stream) });
  if (mode === 'tty')
    return {
      renderer: TtyView,
      rendererOptions: { logger, collapseSubtasks: false, screen: stream },
    };
  if (mode === 'plain') return { renderer: 'simple' as const, rendererOptions: { logger } };
  return { renderer: 'silent' as const };
}

export interface ProgressItem {
  title: string;
  /** Runs the item; its own progress lines go to `progress`. A throw marks it failed. */
  run(progress: Progress): Promise<void>;
}

/**
 * One titled group of items under one parent line, side by side (at most `limit` at once). Every
 * item runs to its end even when another fails; the failures are the caller's to collect.
 */
export async function runGroup(
  mode: ProgressMode,
  title: string,
  items: ProgressItem[],
  limit: number,
  stream: ProgressStream = process.stderr,
): Promise<void> {
  const task = (item: ProgressItem) => ({
    title: item.title,
    task: (_ctx: unknown, t: { output: string | undefined }) =>
      item.run((line) => {
        t.output = line;
      }),
  });
  const single = items.length === 1 && items[0]!.title === title;
  const list = new Listr<unknown, ListrRendererValue, ListrRendererValue>(
    single
      ? [task(items[0]!)]
      : [
          {
            title,
            task: (_ctx, parent) =>
              parent.newListr(items.map(task), { concurrent: limit, exitOnError: false }),
          },
        ],
    { ...rendererOptions(mode, stream), exitOnError: false, registerSignalListeners: false },
  );
  await list.run().catch(() => undefined);
}

/**
 * Runs `work` for every host, as one group: at once, or at most `limit` at a time (the others shown
 * pending). A failing host never stops the others; every host's outcome comes back, in the order given.
 */
export async function forEachHost<T>(
  title: string,
  hosts: string[],
  work: (host: string, progress: Progress) => Promise<T>,
  mode: ProgressMode,
  limit = hosts.length,
  stream?: ProgressStream,
): Promise<Map<string, HostOutcome<T>>> {
  const outcomes = new Map<string, HostOutcome<T>>();
  await runGroup(
    mode,
    title,
    hosts.map((host) => ({
      title: host,
      async run(progress) {
        try {
          outcomes.set(host, { ok: true, value: await work(host, progress) });
        } catch (error) {
          outcomes.set(host, { ok: false, error });
          throw error;
        }
      },
    })),
    Math.max(1, limit),
    stream,
  );
  return new Map(hosts.map((h) => [h, outcomes.get(h) ?? { ok: false, error: new Error('not run') }]));
}

import { Listr, ListrLogger, ProcessOutput } from 'listr2';

/** How progress is shown: a live tree on a TTY, plain lines otherwise, nothing under --json. */
export type ProgressMode = 'tty' | 'plain' | 'silent';

export function progressMode(json: boolean): ProgressMode {
  if (json) return 'silent';
  return process.stderr.isTTY ? 'tty' : 'plain';
}

/** What a host's step can do to its own line of progress. */
export interface StepReporter {
  output(message: string): void;
  title(title: string): void;
}

export type HostOutcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

// Progress goes to stderr so stdout stays the command's result (check lines, plans, JSON).
const toStderr = new ProcessOutput(process.stderr, process.stderr);

function rendererOptions(mode: ProgressMode) {
  const logger = new ListrLogger({ processOutput: toStderr });
  if (mode === 'tty')
    return { renderer: 'default' as const, rendererOptions: { logger, collapseSubtasks: false } };
  if (mode === 'plain') return { renderer: 'simple' as const, rendererOptions: { logger } };
  return { renderer: 'silent' as const };
}

/**
 * Runs `step` for every host at once under one listr2 parent task. A failing host never stops the
 * others; every host's outcome comes back, in the order given.
 */
export async function forEachHost<T>(
  title: string,
  hosts: string[],
  step: (host: string, report: StepReporter) => Promise<T>,
  mode: ProgressMode,
): Promise<Map<string, HostOutcome<T>>> {
  const outcomes = new Map<string, HostOutcome<T>>();
  const list = new Listr(
    [
      {
        title,
        task: (_ctx, parent) =>
          parent.newListr(
            hosts.map((host) => ({
              title: host,
              task: async (_c, task) => {
                const report: StepReporter = {
                  output: (m) => {
                    task.output = m;
                  },
                  title: (t) => {
                    task.title = `${host}: ${t}`;
                  },
                };
                try {
                  outcomes.set(host, { ok: true, value: await step(host, report) });
                } catch (error) {
                  outcomes.set(host, { ok: false, error });
                  throw error;
                }
              },
            })),
            { concurrent: true, exitOnError: false },
          ),
      },
    ],
    { ...rendererOptions(mode), exitOnError: false, registerSignalListeners: false },
  );
  await list.run().catch(() => undefined);
  return new Map(hosts.map((h) => [h, outcomes.get(h) ?? { ok: false, error: new Error('not run') }]));
}

import { writeFileAtomic } from './atomic-file.ts';
import { type DbusCall, type DbusInvoke, dbusInvoke } from './dbus.ts';
import { type CommandResult, runCommand } from './run.ts';

/** How host commands are run: runCommand on a host, a recording fake in tests. */
export type RunCommand = (file: string, args: string[], timeoutMs?: number) => Promise<CommandResult>;

/** One change to a host, as data: planned (its action line written) first, then applied. */
export type Step =
  | { kind: 'command'; file: string; args: string[]; timeoutMs?: number }
  | { kind: 'write'; path: string; content: string; mode: number }
  | { kind: 'dbus'; call: DbusCall };

export const command = (file: string, args: string[], timeoutMs?: number): Step => ({
  kind: 'command',
  file,
  args,
  ...(timeoutMs === undefined ? {} : { timeoutMs }),
});

export const write = (path: string, content: string, mode = 0o644): Step => ({
  kind: 'write',
  path,
  content,
  mode,
});

export const dbusStep = (call: DbusCall): Step => ({ kind: 'dbus', call });

export class StepFailed extends Error {
  readonly result: CommandResult | undefined;
  constructor(message: string, result?: CommandResult) {
    super(message);
    this.name = 'StepFailed';
    this.result = result;
  }
}

/** Apply steps in order; the first failing command stops the rest (StepFailed with its own words). */
export async function applySteps(
  steps: Step[],
  run: RunCommand = runCommand,
  bus: DbusInvoke = dbusInvoke,
): Promise<void> {
  for (const step of steps) {
    if (step.kind === 'write') {
      await writeFileAtomic(step.path, step.content, step.mode);
      continue;
    }
    if (step.kind === 'dbus') {
      const { method, path, args = [] } = step.call;
      await bus(step.call).catch((err: Error) => {
        throw new StepFailed(
          `D-Bus ${method} on ${path}${args.length ? ` (${args.join(' ')})` : ''} failed: ${err.message}`,
        );
      });
      continue;
    }
    const r = await run(step.file, step.args, step.timeoutMs ?? 30_000);
    if (r.code !== 0) {
      const why = r.notFound ? 'not installed' : r.stderr.trim() || r.stdout.trim() || `exit ${r.code}`;
      throw new StepFailed(`${step.file} ${step.args.join(' ')} failed: ${why}`, r);
    }
  }
}

import type { CommandResult } from '../../../../agent/system/run.ts';
import type { RunCommand } from '../../../../agent/system/steps.ts';

export type Answer = Partial<CommandResult> | ((args: string[]) => Partial<CommandResult>);

/**
 * A recording stand-in for host commands: answers by "file arg1 arg2" prefix (the longest that
 * matches), "not found" for anything unknown. Nothing runs on this machine.
 */
export function fakeRun(answers: Record<string, Answer>): { run: RunCommand; calls: string[] } {
  const calls: string[] = [];
  const run: RunCommand = async (file, args) => {
    const line = [file, ...args].join(' ');
    calls.push(line);
    const key = Object.keys(answers)
      .filter((k) => line === k || line.startsWith(`${k} `))
      .sort((a, b) => b.length - a.length)[0];
    const answer = key === undefined ? undefined : answers[key];
    const given = typeof answer === 'function' ? answer(args) : answer;
    if (!given)
      return { code: null, stdout: '', stderr: `${file}: not found`, notFound: true, timedOut: false };
    return { code: 0, stdout: '', stderr: '', notFound: false, timedOut: false, ...given };
  };
  return { run, calls };
}

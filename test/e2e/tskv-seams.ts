/**
 * `tskv` from its sources with the runner's test seams set: a test stops a run at an exact step
 * boundary (or in the middle of a step) the way an operator's Ctrl-C, a crash or a lost laptop
 * would, then re-runs it. Nothing of this is in the shipped CLI.
 *
 *   node test/e2e/tskv-seams.ts --before 3 --do kill -- deploy inv.yaml --yes
 *   node test/e2e/tskv-seams.ts --before start@docker --do 'exec:pkill -x sshd' -- deploy inv.yaml
 *   node test/e2e/tskv-seams.ts --mid wait-caught-up@h105 --do kill -- replace inv.yaml a=b --yes
 *
 * --before AT: as step AT starts (AT: its index in the plan, or KIND@HOST, or KIND for a cluster
 * step); --mid AT: at its first line of progress (with --mid-line TEXT: the first holding TEXT). --do kill: SIGKILL this process (what a killed
 * controller leaves behind); stop: SIGSTOP it (a run that hangs); exec:CMD: run CMD with sh and go on. Prints "seam: STEP" to stderr
 * when it fires.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type StepAt, seams } from '../../controller/run/runner.ts';

const split = process.argv.indexOf('--');
const { values } = parseArgs({
  args: process.argv.slice(2, split < 0 ? undefined : split),
  options: {
    before: { type: 'string' },
    mid: { type: 'string' },
    'mid-line': { type: 'string' },
    do: { type: 'string', default: 'kill' },
  },
});
const tskvArgs = split < 0 ? [] : process.argv.slice(split + 1);

const matches = (spec: string | undefined, at: StepAt): boolean =>
  spec !== undefined &&
  (spec === String(at.index) || spec === (at.step.host ? `${at.step.kind}@${at.step.host}` : at.step.kind));

let fired = false;
function fire(at: StepAt): void {
  if (fired) return;
  fired = true;
  process.stderr.write(`seam: ${at.index} ${at.step.kind}${at.step.host ? `@${at.step.host}` : ''}\n`);
  const action = values.do ?? 'kill';
  if (action === 'kill') process.kill(process.pid, 'SIGKILL');
  else if (action === 'stop') process.kill(process.pid, 'SIGSTOP');
  else if (action.startsWith('exec:'))
    spawnSync('/bin/sh', ['-c', action.slice('exec:'.length)], { stdio: 'ignore' });
  else throw new Error(`unknown --do ${action}`);
}

seams.beforeStep = (at) => {
  if (matches(values.before, at)) fire(at);
};
seams.progress = (at, line) => {
  if (matches(values.mid, at) && line.includes(values['mid-line'] ?? '')) fire(at);
};

process.argv = [process.argv[0]!, join(import.meta.dirname, '../../controller/cli.ts'), ...tskvArgs];
await import('../../controller/cli.ts');

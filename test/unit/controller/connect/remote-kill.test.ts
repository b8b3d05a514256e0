import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { killTaggedScript, newRunId, tagCommand } from '../../../../controller/connect/remote-kill.ts';
import { until } from '../../../fixtures/wait.ts';

/** Pids of the processes carrying the run marker in their environment. */
function tagged(runId: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`TSKV_RUN=${runId}`);
      } catch {
        return false;
      }
    })
    .map(Number);
}

test('the kill script stops a tagged command and its children, and nothing else', async () => {
  const id = newRunId();
  const otherId = newRunId();
  const victim = spawn('/bin/sh', ['-c', tagCommand('sleep 30 & sleep 31; wait', id)], { stdio: 'ignore' });
  spawn('/bin/sh', ['-c', tagCommand('sleep 32', otherId)], { stdio: 'ignore' });
  try {
    const exited = new Promise((resolve) => victim.on('exit', (_code, signal) => resolve(signal)));
    await until('the shell and both sleeps', () => tagged(id).length >= 3);
    await until('the other command', () => tagged(otherId).length >= 1);
    execFileSync('/bin/sh', ['-c', killTaggedScript(id)]);
    assert.equal(await exited, 'SIGKILL');
    await until('every tagged process to go', () => tagged(id).length === 0);
    assert.ok(tagged(otherId).length >= 1, 'an unrelated tagged command keeps running');
  } finally {
    execFileSync('/bin/sh', ['-c', killTaggedScript(otherId)]);
    victim.kill('SIGKILL');
  }
});

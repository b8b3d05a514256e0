import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { test } from 'node:test';
import { killTaggedScript, newRunId, tagCommand } from '../../../controller/connect/remote-kill.ts';

test('the kill script stops a tagged command and its children, and nothing else', async () => {
  const id = newRunId();
  const tagged = spawn('/bin/sh', ['-c', tagCommand('sleep 30 & sleep 31; wait', id)], { stdio: 'ignore' });
  const other = spawn('/bin/sh', ['-c', tagCommand('sleep 32', newRunId())], { stdio: 'ignore' });
  const exited = new Promise((resolve) => tagged.on('exit', resolve));
  const children = (): string =>
    execFileSync('sh', ['-c', `pgrep -f '^sleep 3[01]$' || true`], { encoding: 'utf8' });
  const deadline = Date.now() + 5000;
  while (children().trim().split('\n').filter(Boolean).length < 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  execFileSync('/bin/sh', ['-c', killTaggedScript(id)]);
  assert.equal(await exited, null);
  assert.equal(children().trim(), '');
  assert.equal(other.exitCode, null, 'an unrelated tagged command keeps running');
  other.kill();
});

/**
 * The systemd side of etcdService, against a stand-in `systemctl` (first on PATH) that records
 * what it was asked and reports a unit whose main process is one this test starts: how a restart
 * moves an etcd of another user (an older tskv's, as root) to the etcd user.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { EtcdRunPlan } from '../../../../agent/handlers/etcd-run-as.ts';
import { systemdService } from '../../../../agent/handlers/etcd-service-systemd.ts';
import { userName } from '../../../../agent/system/accounts.ts';

const asRoot = process.getuid?.() === 0;

/**
 * `systemctl`: is-enabled says enabled; show prints $DIR/show (`show -p LoadState -p User`:
 * loaded, and User= from $DIR/user); stop,
 * start and restart log and change it.
 */
const FAKE_SYSTEMCTL = `#!/bin/sh
dir=$(dirname "$0")
echo "$*" >>"$dir/calls"
case "$1" in
  is-enabled) echo enabled ;;
  show) if [ "$2" = -p ]; then echo LoadState=loaded; echo "User=$(cat "$dir/user")"; else cat "$dir/show"; fi ;;
  stop) printf 'MainPID=0\\nActiveState=inactive\\nExecMainStartTimestampMonotonic=0\\n' >"$dir/show" ;;
  start|restart) printf 'MainPID=%s\\nActiveState=active\\nExecMainStartTimestampMonotonic=0\\n' "$(cat "$dir/next-pid")" >"$dir/show" ;;
esac
`;

describe('etcdService under systemd: restart of an etcd of another user', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-fake-systemctl-'));
  const path = process.env['PATH'];
  const sleepers: ChildProcess[] = [];
  let prepared: boolean[] = [];
  /** The account is nobody's (as root: a real other user than the running root process), else ours. */
  const account = asRoot
    ? { user: 'nobody', uid: 65534, gid: 65534 }
    : { user: '', uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const prepare = async (apply: boolean): Promise<EtcdRunPlan> => {
    prepared.push(apply);
    return {
      account,
      made: [],
      changes: apply ? ['hand /var/lib/etcd/h1.etcd to etcd:etcd (3 entries of root:root)'] : [],
    };
  };
  const sleeper = (as?: { uid: number; gid: number }) => {
    const c = spawn('sleep', ['1000'], { stdio: 'ignore', ...(as ?? {}) });
    sleepers.push(c);
    return c.pid!;
  };
  const unit = (pid: number) =>
    writeFileSync(
      join(dir, 'show'),
      `MainPID=${pid}\nActiveState=active\nExecMainStartTimestampMonotonic=0\n`,
    );
  const calls = () =>
    readFileSync(join(dir, 'calls'), 'utf8')
      .trim()
      .split('\n')
      .filter((c) => !c.startsWith('show') && !c.startsWith('is-enabled'));

  before(async () => {
    writeFileSync(join(dir, 'systemctl'), FAKE_SYSTEMCTL);
    chmodSync(join(dir, 'systemctl'), 0o755);
    process.env['PATH'] = `${dir}:${path}`;
    if (!account.user) account.user = await userName(account.uid);
  });
  after(() => {
    process.env['PATH'] = path;
    for (const c of sleepers) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const reset = (pid: number, next: number) => {
    unit(pid);
    writeFileSync(join(dir, 'next-pid'), String(next));
    writeFileSync(join(dir, 'user'), 'etcd\n');
    writeFileSync(join(dir, 'calls'), '');
    prepared = [];
  };

  test('a unit that would run etcd as root (a drop-in says User=root): refused, nothing stopped or started', async () => {
    const current = sleeper();
    reset(current, current);
    for (const user of ['root', '']) {
      writeFileSync(join(dir, 'user'), `${user}\n`);
      for (const action of ['start', 'restart'] as const) {
        await assert.rejects(systemdService({ action }, prepare), {
          code: 'E_AGENT_REFUSED',
          message: /etcd\.service would run etcd as root, not etcd .*a drop-in may set User=/,
        });
      }
    }
    assert.deepEqual(calls(), []);
    assert.deepEqual(prepared, []);
  });

  test('etcd runs as root: stopped, its folders handed over, then started (never a plain restart)', {
    skip: asRoot ? false : 'needs root: the etcd of another user is root',
  }, async () => {
    const old = sleeper();
    const next = sleeper(account);
    reset(old, next);
    const r = await systemdService({ action: 'restart' }, prepare);
    assert.deepEqual(calls(), ['stop etcd.service', 'start --no-block etcd.service']);
    assert.deepEqual(prepared, [false, true], 'looked, then handed over once etcd was stopped');
    assert.deepEqual(r.actions, [
      'stop etcd.service first (etcd runs as root)',
      'hand /var/lib/etcd/h1.etcd to etcd:etcd (3 entries of root:root)',
      'start etcd.service',
    ]);
    assert.equal(r.pid, next);
    assert.equal(r.user, 'nobody');
  });

  test('etcd runs as the etcd user and its folders are its own: a plain restart', async () => {
    const current = sleeper(asRoot ? account : undefined);
    const next = sleeper(asRoot ? account : undefined);
    reset(current, next);
    const r = await systemdService({ action: 'restart' }, async (apply) => {
      prepared.push(apply);
      return { account, made: [], changes: [] };
    });
    assert.deepEqual(calls(), ['restart --no-block etcd.service']);
    assert.deepEqual(prepared, [false]);
    assert.deepEqual(r.actions, ['restart etcd.service']);
    assert.equal(r.user, account.user);
  });

  test('not running: handed over, then started; running: start changes nothing', async () => {
    const next = sleeper(asRoot ? account : undefined);
    reset(0, next);
    writeFileSync(join(dir, 'show'), 'MainPID=0\nActiveState=inactive\nExecMainStartTimestampMonotonic=0\n');
    const r = await systemdService({ action: 'start' }, prepare);
    assert.deepEqual(calls(), ['start --no-block etcd.service']);
    assert.deepEqual(prepared, [true]);
    assert.equal(r.actions.at(-1), 'start etcd.service');
    prepared = [];
    const again = await systemdService({ action: 'start' }, prepare);
    assert.deepEqual([again.changed, prepared], [false, []]);
  });

  test('a unit waiting to be started again after a crash is not up: handed over and started', async () => {
    const next = sleeper(asRoot ? account : undefined);
    reset(0, next);
    writeFileSync(
      join(dir, 'show'),
      'MainPID=0\nActiveState=activating\nSubState=auto-restart\nExecMainStartTimestampMonotonic=0\n',
    );
    const r = await systemdService({ action: 'start' }, prepare);
    assert.deepEqual(calls(), ['start --no-block etcd.service']);
    assert.deepEqual(prepared, [true]);
    assert.equal(r.actions.at(-1), 'start etcd.service');
  });
});

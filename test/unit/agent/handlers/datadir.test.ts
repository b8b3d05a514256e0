import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { dataDirMoveAside } from '../../../../agent/handlers/datadir.ts';
import { compactUtc, dataDirOf } from '../../../../agent/system/etcd-data-dir.ts';
import { parseMountPoints } from '../../../../agent/system/mounts.ts';
import { findProcesses } from '../../../../agent/system/processes.ts';
import { waitUntil } from '../../../../agent/wait-until.ts';

const ctx = { buildId: 'test' };

test('compactUtc', () => {
  assert.equal(compactUtc(Date.UTC(2024, 4, 7, 10, 11, 12, 345)), '20240507T101112Z');
});

test('dataDirOf: flag, then environment, then <name>.etcd in the working directory', () => {
  const env = new Map([['ETCD_DATA_DIR', '/var/lib/etcd/env']]);
  assert.equal(dataDirOf(['--data-dir', '/d1'], env, '/'), '/d1');
  assert.equal(dataDirOf(['--data-dir=/d2'], env, '/'), '/d2');
  assert.equal(dataDirOf([], env, '/'), '/var/lib/etcd/env');
  assert.equal(dataDirOf(['--name', 'h1'], new Map(), '/srv'), '/srv/h1.etcd');
  assert.equal(dataDirOf([], new Map([['ETCD_NAME', 'h2']]), '/srv'), '/srv/h2.etcd');
  assert.equal(dataDirOf([], new Map(), '/srv'), '/srv/default.etcd');
});

describe('dataDirMoveAside', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-datadir-'));
  const data = join(dir, 'h1.etcd');
  let fakeEtcd: ChildProcess | undefined;
  after(() => {
    fakeEtcd?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('nothing there: no change', async () => {
    assert.deepEqual(await dataDirMoveAside({ path: data }, ctx), {
      changed: false,
      actions: [`nothing at ${data}`],
      movedTo: null,
    });
  });

  test('refused while an etcd uses it', async () => {
    mkdirSync(join(data, 'member'), { recursive: true });
    // A process whose program is called "etcd" with ETCD_DATA_DIR set (sleep under another name).
    copyFileSync('/bin/sleep', join(dir, 'etcd'));
    fakeEtcd = spawn(join(dir, 'etcd'), ['100'], { env: { ETCD_DATA_DIR: data }, stdio: 'ignore' });
    const pid = fakeEtcd.pid;
    await waitUntil(async () => (await findProcesses('etcd')).some((p) => p.pid === pid), 5_000);
    await assert.rejects(dataDirMoveAside({ path: data }, ctx), {
      code: 'E_AGENT_BAD_REQUEST',
      message: new RegExp(`refusing to move .*h1\\.etcd aside: etcd \\(pid ${pid}\\) is running with it`),
    });
    fakeEtcd.kill('SIGKILL');
    await waitUntil(async () => !(await findProcesses('etcd')).some((p) => p.pid === pid), 5_000);
  });

  test('moved to <path>.removed-<timestamp>, again with a new one', async () => {
    const r = await dataDirMoveAside({ path: data }, ctx);
    assert.equal(r.changed, true);
    assert.deepEqual(r.actions, [`move ${data} aside to ${r.movedTo}`]);
    assert.match(r.movedTo ?? '', /\/h1\.etcd\.removed-\d{8}T\d{6}Z$/);
    assert.ok(!existsSync(data));
    assert.ok(existsSync(join(r.movedTo ?? '', 'member')), 'moved, not deleted');
    mkdirSync(join(data, 'member'), { recursive: true });
    const second = await dataDirMoveAside({ path: data }, ctx);
    assert.notEqual(second.movedTo, r.movedTo);
    assert.equal(readdirSync(dir).filter((f) => f.startsWith('h1.etcd.removed-')).length, 2);
  });

  test('an empty data dir stays: nothing to move', async () => {
    mkdirSync(data);
    assert.deepEqual(await dataDirMoveAside({ path: data }, ctx), {
      changed: false,
      actions: [`nothing in ${data}`],
      movedTo: null,
    });
    assert.ok(existsSync(data));
    rmSync(data, { recursive: true });
  });

  test('a data dir that is a symlink: the link moves, what it points at stays', async () => {
    const real = join(dir, 'disk/h1');
    mkdirSync(join(real, 'member'), { recursive: true });
    symlinkSync(real, data);
    const r = await dataDirMoveAside({ path: data }, ctx);
    assert.equal(r.changed, true);
    assert.ok(lstatSync(r.movedTo ?? '').isSymbolicLink());
    assert.ok(existsSync(join(real, 'member')));
  });
});

test('parseMountPoints: the fifth field, octal escapes undone', () => {
  const info = [
    '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
    '40 22 0:35 / /srv/etcd\\040data rw,relatime shared:20 - xfs /dev/sdb1 rw',
    '',
  ].join('\n');
  assert.deepEqual([...parseMountPoints(info)], ['/', '/srv/etcd data']);
});

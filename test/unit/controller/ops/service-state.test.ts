import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeService } from '../../../../controller/ops/service-state.ts';

const base = { changed: false, actions: [] as string[] };

test('running: manager, pid, since when, restarts', () => {
  assert.equal(
    describeService({
      ...base,
      manager: 'systemd',
      running: true,
      pid: 812,
      startedAtMs: Date.UTC(2026, 11, 4, 10, 40, 1, 500),
      restarts: 1,
      unitState: 'active (running)',
      user: 'etcd',
    }),
    'running (systemd, pid 812, user etcd, since 2026-12-04T10:40:01Z, 1 restart)',
  );
});

test('stopped: the unit state and how it last ended; the supervisor without a unit state', () => {
  assert.equal(
    describeService({
      ...base,
      manager: 'systemd',
      running: false,
      pid: null,
      startedAtMs: null,
      restarts: 5,
      lastExit: 'exit-code, status 1',
      unitState: 'failed (failed)',
    }),
    'stopped (systemd: failed (failed), last exit-code, status 1; 5 restarts)',
  );
  assert.equal(
    describeService({ ...base, manager: 'supervisor', running: false, pid: null, startedAtMs: null }),
    'stopped (supervisor)',
  );
  assert.equal(
    describeService({
      ...base,
      manager: 'supervisor',
      running: false,
      pid: null,
      startedAtMs: null,
      restarts: 0,
      lastExit: 'killed by SIGKILL',
    }),
    'stopped (supervisor, last killed by SIGKILL; 0 restarts)',
  );
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeClockSync } from '../../../../agent/handlers/clock-sync.ts';
import { hasCapSysTime } from '../../../../agent/system/clock-step.ts';
import { chronyOffsetSeconds } from '../../../../agent/system/time-service.ts';
import { fakeRun } from './fake-run.ts';

const ctx = { buildId: 'test' };
const NOW = Date.UTC(2026, 0, 1);

const TRACKING = (offset: string) => `Reference ID    : C0A80001 (192.168.0.1)
Stratum         : 3
System time     : ${offset} of NTP time
Leap status     : Normal
`;

function clockSync(answers: Parameters<typeof fakeRun>[0], capSysTime = true) {
  const fake = fakeRun(answers);
  const handler = makeClockSync({
    run: fake.run,
    capSysTime: () => capSysTime,
    now: () => NOW,
    hostname: () => 'h102',
  });
  return { handler, calls: fake.calls };
}

test('CAP_SYS_TIME from CapEff', () => {
  assert.equal(hasCapSysTime('CapEff:\t000001ffffffffff\n'), true);
  assert.equal(hasCapSysTime('CapEff:\t000001fffdffffff\n'), false);
  assert.equal(hasCapSysTime('CapEff:\t0000000000000000\n'), false);
});

test('chrony offset', () => {
  assert.equal(chronyOffsetSeconds(TRACKING('0.250000000 seconds slow')), -0.25);
  assert.equal(chronyOffsetSeconds(TRACKING('0.000001000 seconds fast')), 0.000001);
  assert.equal(chronyOffsetSeconds('nothing'), null);
});

describe('clockSync', () => {
  test('no time service, no step: no change', async () => {
    const { handler } = clockSync({});
    assert.deepEqual(await handler({ servers: [] }, ctx), {
      changed: false,
      actions: ['no time service found'],
      service: 'none',
    });
  });

  test('chrony in sync: no change; far off: makestep', async () => {
    const synced = clockSync({ 'chronyc -n tracking': { stdout: TRACKING('0.000100000 seconds fast') } });
    assert.deepEqual(await synced.handler({ servers: [] }, ctx), {
      changed: false,
      actions: [],
      service: 'chrony',
    });
    const off = clockSync({
      'chronyc -n tracking': { stdout: TRACKING('2.500000000 seconds slow') },
      'chronyc makestep': { stdout: '200 OK' },
    });
    const r = await off.handler({ servers: [] }, ctx);
    assert.deepEqual(r, {
      changed: true,
      actions: ['chrony: step the clock now (off by -2.500 s)'],
      service: 'chrony',
    });
    assert.ok(off.calls.includes('chronyc makestep'));
  });

  test('systemd-timesyncd with NTP off: set-ntp true', async () => {
    const { handler, calls } = clockSync({
      'timedatectl show': { stdout: 'Timezone=UTC\nCanNTP=yes\nNTP=no\nNTPSynchronized=no\n' },
      'timedatectl set-ntp true': {},
    });
    const r = await handler({ servers: [] }, ctx);
    assert.deepEqual(r, {
      changed: true,
      actions: ['systemd-timesyncd: turn on NTP (timedatectl set-ntp true)'],
      service: 'systemd-timesyncd',
    });
    assert.ok(calls.includes('timedatectl set-ntp true'));
  });

  test('stepToMs without CAP_SYS_TIME: E_AGENT_PERMISSION with the host name, nothing run', async () => {
    const { handler, calls } = clockSync({ date: {} }, false);
    await assert.rejects(handler({ servers: [], stepToMs: NOW + 5_000 }, ctx), {
      code: 'E_AGENT_PERMISSION',
      message: 'cannot set the clock on h102: operation not permitted (no CAP_SYS_TIME)',
    });
    assert.deepEqual(calls, []);
  });

  test('stepToMs: date -s, unless already there; EPERM from date is the same clear error', async () => {
    const ok = clockSync({ date: {} });
    const r = await ok.handler({ servers: [], stepToMs: NOW + 5_000 }, ctx);
    assert.equal(r.changed, true);
    assert.match(r.actions[0] ?? '', /^step the clock by \+500\d\.\d ms$/);
    const date = ok.calls.find((c) => c.startsWith('date '));
    assert.match(date ?? '', /^date -u -s @1767225605\.\d{3}$/);
    const near = clockSync({ date: {} });
    const same = await near.handler({ servers: [], stepToMs: NOW + 2 }, ctx);
    assert.equal(same.changed, false);
    assert.ok(!near.calls.some((c) => c.startsWith('date ')));
    const eperm = clockSync({
      date: { code: 1, stderr: 'date: cannot set date: Operation not permitted\n' },
    });
    await assert.rejects(eperm.handler({ servers: [], stepToMs: NOW - 60_000 }, ctx), {
      code: 'E_AGENT_PERMISSION',
      message: 'cannot set the clock on h102: operation not permitted (no CAP_SYS_TIME)',
    });
  });
});

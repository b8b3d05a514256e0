import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  linkSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RequestOf, routes } from '../../../../agent/api/index.ts';
import { makeEtcdLogs } from '../../../../agent/handlers/etcd-logs.ts';
import { makeEtcdService } from '../../../../agent/handlers/etcd-service.ts';
import { readSupervisorState, supervisorPaths } from '../../../../agent/supervisor/state.ts';
import { userName } from '../../../../agent/system/accounts.ts';
import { processAlive } from '../../../../agent/system/proc-stat.ts';
import { waitUntil } from '../../../../agent/wait-until.ts';
import { type FakeHost, fakeAccount, fakeHost } from './fake-etcd.ts';

const ROOT = new URL('../../../../', import.meta.url).pathname;
const AGENT = [process.execPath, join(ROOT, 'agent/main.ts')];

type ServiceRequest = RequestOf<typeof routes.etcdService>;

/** Fields of /proc/PID/stat after the command name: [state, ppid, pgrp, session, ...]. */
function statFields(pid: number): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

describe('etcdService with the supervisor (no systemd)', () => {
  let host: FakeHost;
  let service: ReturnType<typeof makeEtcdService>;
  let call: (action: ServiceRequest['action'], extra?: Partial<ServiceRequest>) => ReturnType<typeof service>;
  let logs: ReturnType<typeof makeEtcdLogs>;
  const state = () => readSupervisorState(supervisorPaths(host.runDir).stateFile);

  before(() => {
    host = fakeHost();
    host.writeEnv({ ETCD_NAME: 'm1', QUOTED: 'a "b" $c', FAKE_MODE: 'run' });
    service = makeEtcdService({
      systemd: () => false,
      layout: host.layout,
      agentCommand: AGENT,
      account: fakeAccount(),
    });
    logs = makeEtcdLogs(() => false, host.layout);
    call = (action, extra = {}) => service({ action, ...extra }, { buildId: 'test' });
  });

  after(async () => {
    await call('stop').catch(() => {});
    const s = state();
    for (const pid of [s?.supervisorPid, s?.etcdPid]) {
      if (pid && processAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    host.remove();
  });

  test('status before anything: not running', async () => {
    const r = await call('status');
    assert.deepEqual(
      { changed: r.changed, manager: r.manager, running: r.running, pid: r.pid },
      { changed: false, manager: 'supervisor', running: false, pid: null },
    );
  });

  test('start: running, detached in its own session, env file reaches etcd', async () => {
    const t0 = Date.now();
    // The agent runs under the controller's kill marker; the supervisor must not carry it.
    process.env['TSKV_RUN'] = 'marker-of-the-agent-command';
    const r = await call('start').finally(() => {
      delete process.env['TSKV_RUN'];
    });
    assert.equal(r.changed, true);
    assert.deepEqual(r.actions.slice(0, 2), [
      'create system user etcd (fake)',
      `create ${host.dataDir} (etcd:etcd 0700)`,
    ]);
    assert.match(r.actions.at(-1) ?? '', /^start etcd under the tskv supervisor \(.*\) as user \S+$/);
    assert.equal(r.running, true);
    assert.ok(r.pid && processAlive(r.pid));
    assert.ok(r.startedAtMs !== null && r.startedAtMs >= t0 - 5 && r.startedAtMs <= Date.now());
    const s = state();
    assert.ok(s);
    const [, , pgrp, session] = statFields(s.supervisorPid);
    assert.equal(Number(session), s.supervisorPid, 'supervisor leads its own session');
    assert.equal(Number(pgrp), s.supervisorPid, 'supervisor leads its own process group');
    assert.equal(Number(statFields(r.pid)[1]), s.supervisorPid, 'etcd is the supervisor child');
    assert.doesNotMatch(readFileSync(`/proc/${s.supervisorPid}/environ`, 'utf8'), /TSKV_RUN=/);
    let line = '';
    await waitUntil(async () => {
      line = (await logs({ lines: 5 }, { buildId: 't' })).lines.join('\n');
      return line.includes('fake etcd pid');
    }, 5_000);
    assert.match(line, /ETCD_NAME=m1 QUOTED=a "b" \$c HOME=unset PATH=\/usr\/local\/sbin:/);
  });

  test("etcd runs as the etcd account, without supplementary groups; its data dir made 0700 and the account's", async () => {
    const s = state();
    assert.ok(s?.etcdPid);
    const status = readFileSync(`/proc/${s.etcdPid}/status`, 'utf8');
    const account = await fakeAccount()(false);
    const { uid, gid, user } = account.account!;
    assert.match(status, new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s+${uid}\\s+${uid}$`, 'm'));
    assert.match(status, new RegExp(`^Gid:\\s+${gid}\\s+${gid}\\s+${gid}\\s+${gid}$`, 'm'));
    if (process.getuid?.() === 0) assert.match(status, /^Groups:\s*$/m, 'no supplementary groups');
    assert.deepEqual([s.uid, s.gid], [uid, gid], 'the supervisor records who etcd runs as');
    const info = statSync(host.dataDir);
    assert.deepEqual([info.uid, info.gid, info.mode & 0o777], [uid, gid, 0o700]);
    const r = await call('status');
    assert.equal(r.user, (await userName(uid)) || user);
    // The log stays root's: etcd writes through the descriptor the supervisor gives it.
    assert.equal(statSync(host.logFile).uid, process.getuid?.() ?? 0);
  });

  test('start again: no change', async () => {
    const before = state();
    const r = await call('start');
    assert.equal(r.changed, false);
    assert.equal(r.pid, before?.etcdPid);
  });

  test('etcd killed: the supervisor restarts it with a new pid', async () => {
    const old = state();
    assert.ok(old?.etcdPid);
    process.kill(old.etcdPid, 'SIGKILL');
    assert.ok(await waitUntil(() => (state()?.spawns ?? 0) > old.spawns && state()?.etcdPid !== null, 5_000));
    const r = await call('status');
    assert.equal(r.running, true);
    assert.notEqual(r.pid, old.etcdPid);
    assert.equal(r.restarts, 1);
    assert.equal(r.lastExit, 'killed by SIGKILL');
  });

  test('an env file changed after etcd started makes it stale, until it is restarted', async () => {
    assert.equal((await call('status')).stale, undefined);
    const later = new Date(Date.now() + 2000);
    utimesSync(host.envFile, later, later);
    assert.match((await call('status')).stale ?? '', /etcd\.env changed after etcd started/);
    utimesSync(host.envFile, new Date(0), new Date(0));
    assert.equal((await call('status')).stale, undefined);
  });

  test('restart: new pid and new startedAtMs, env file re-read', async () => {
    const before = await call('status');
    host.writeEnv({ ETCD_NAME: 'm1-renamed', FAKE_MODE: 'run' });
    const r = await call('restart');
    assert.equal(r.changed, true);
    assert.equal(r.running, true);
    assert.notEqual(r.pid, before.pid);
    assert.ok((r.startedAtMs ?? 0) > (before.startedAtMs ?? 0));
    assert.equal(before.pid !== null && processAlive(before.pid), false);
    await waitUntil(() => readFileSync(host.logFile, 'utf8').includes('ETCD_NAME=m1-renamed'), 5_000);
    assert.match(readFileSync(host.logFile, 'utf8'), /ETCD_NAME=m1-renamed/);
  });

  test('stop: etcd and supervisor gone; stop again: no change', async () => {
    const s = state();
    assert.ok(s?.etcdPid);
    const r = await call('stop');
    assert.deepEqual(
      { changed: r.changed, running: r.running, pid: r.pid },
      { changed: true, running: false, pid: null },
    );
    assert.equal(processAlive(s.etcdPid), false);
    assert.equal(processAlive(s.supervisorPid), false);
    assert.equal((await call('stop')).changed, false);
  });

  test('exit 0: not restarted, the supervisor exits', async () => {
    host.writeEnv({ FAKE_MODE: 'exit0' });
    await call('start');
    assert.ok(await waitUntil(() => state()?.phase === 'exited', 5_000));
    const s = state();
    assert.equal(s?.spawns, 1);
    assert.equal(s?.lastExit?.reason, 'exit 0');
    assert.ok(await waitUntil(() => !processAlive(s?.supervisorPid ?? 0), 5_000));
    assert.equal((await call('status')).running, false);
  });

  test('exit 3: restarted with backoff, reported in status', async () => {
    host.writeEnv({ FAKE_MODE: 'exit3' });
    await call('start');
    assert.ok(await waitUntil(() => (state()?.restarts ?? 0) >= 1, 5_000));
    const r = await call('status');
    assert.equal(r.lastExit, 'exit 3');
    assert.equal(state()?.phase === 'backoff' || state()?.phase === 'running', true);
    await call('stop');
    assert.equal(processAlive(state()?.supervisorPid ?? 0), false);
  });

  test('start without the program: a clear error', async () => {
    const missing = `${host.layout.installRoot}/v3.5.99/etcd`;
    await assert.rejects(call('start', { binary: missing }), {
      code: 'E_AGENT_NOT_FOUND',
      message: /the etcd program .*\/opt\/tskv\/etcd\/v3\.5\.99\/etcd is missing/,
    });
  });
});

describe('an etcd that runs as root under an older supervisor (root only)', {
  skip: process.getuid?.() === 0 ? false : 'needs root: etcd runs as root there, as tskv ran it before',
}, () => {
  let host: FakeHost;
  const account = fakeAccount();
  let service: ReturnType<typeof makeEtcdService>;
  const state = () => readSupervisorState(supervisorPaths(host.runDir).stateFile);
  before(() => {
    host = fakeHost();
    host.writeEnv({ FAKE_MODE: 'run' });
    service = makeEtcdService({ systemd: () => false, layout: host.layout, agentCommand: AGENT, account });
  });
  after(async () => {
    await service({ action: 'stop' }, { buildId: 't' }).catch(() => {});
    host.remove();
  });

  test('restart: stopped, its data handed over, started as the etcd user; restart again: SIGHUP only', async () => {
    // What an older tskv left: etcd's data root's (0700, parents made by etcd 0700 too), and a
    // supervisor started without --uid/--gid running etcd as root.
    mkdirSync(join(host.dataDir, 'member/wal'), { recursive: true, mode: 0o700 });
    chmodSync(join(host.dataDir, '..'), 0o700);
    writeFileSync(join(host.dataDir, 'member/wal/0000000000000000-0000000000000000.wal'), 'x', {
      mode: 0o600,
    });
    const paths = supervisorPaths(host.runDir);
    mkdirSync(host.runDir, { recursive: true });
    mkdirSync(join(host.logFile, '..'), { recursive: true });
    const [node, ...entry] = AGENT;
    const old = spawn(
      node!,
      [
        ...entry,
        'supervise',
        ...['--env', host.envFile, '--binary', host.binary, '--log', host.logFile],
        ...['--pidfile', paths.pidFile, '--state', paths.stateFile, '--lock', paths.lockFile],
      ],
      { detached: true, stdio: 'ignore' },
    );
    old.unref();
    assert.ok(await waitUntil(() => state()?.phase === 'running', 10_000));
    const before = await service({ action: 'status' }, { buildId: 't' });
    assert.equal(before.user, 'root');
    assert.equal(state()?.uid, undefined, 'an older supervisor records no uid');

    const r = await service({ action: 'restart' }, { buildId: 't' });
    assert.equal(r.running, true);
    const { account: who } = await account(false);
    assert.equal(r.user, await userName(who!.uid));
    // The account is made while the old etcd still runs: a failure there leaves it running.
    assert.equal(r.actions[0], 'create system user etcd (fake)');
    assert.match(r.actions[1] ?? '', /^stop etcd \(pid \d+\)$/);
    assert.ok(
      r.actions.includes(`hand ${host.dataDir} to etcd:etcd (4 entries of root:root)`),
      r.actions.join('\n'),
    );
    assert.ok(
      r.actions.some((a) => a.startsWith(`chmod o+x ${join(host.dataDir, '..')} (was 0700)`)),
      r.actions.join('\n'),
    );
    assert.equal(processAlive(before.pid!), false);
    for (const p of ['', 'member', 'member/wal', 'member/wal/0000000000000000-0000000000000000.wal']) {
      const info = statSync(join(host.dataDir, p));
      assert.deepEqual([info.uid, info.gid], [who!.uid, who!.gid], p || '(the data dir)');
    }
    assert.equal(statSync(host.dataDir).mode & 0o777, 0o700);

    // Now it is the etcd user's: a restart is the supervisor's own (SIGHUP), nothing changes hands.
    const supervisor = state()!.supervisorPid;
    const again = await service({ action: 'restart' }, { buildId: 't' });
    assert.deepEqual(again.actions, [`restart etcd (pid ${r.pid})`]);
    assert.equal(state()?.supervisorPid, supervisor);
    assert.equal(again.user, r.user);
  });

  test('a data dir the agent does not hand over: refused, nothing started', async () => {
    await service({ action: 'stop' }, { buildId: 't' });
    for (const [dir, why] of [
      [
        '/etc/cron.d',
        /the agent hands to the etcd user only etcd's own data dir: \/etc\/cron\.d is in \/etc/,
      ],
      ['/var/lib', /\/var\/lib is a system folder/],
      // Empty, and loaded by systemd as root: etcd must never own it.
      ['/run/systemd/system', /\/run\/systemd\/system is in \/run/],
      ['/var/lib/private/x', /is in \/var\/lib\/private/],
      [join(host.layout.libDir, 'x'), /is in tskv's/],
      [host.layout.configDir, /is in tskv's/],
      [host.binary, /is in tskv's/],
    ] as const) {
      host.writeEnv({ ETCD_DATA_DIR: dir, FAKE_MODE: 'run' });
      await assert.rejects(service({ action: 'start' }, { buildId: 't' }), {
        code: 'E_AGENT_REFUSED',
        message: why,
      });
    }
    // A folder of someone else's that is neither empty nor etcd's, and one behind a symlink into /etc.
    const other = join(host.dir, 'srv/other');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'notes'), 'x');
    host.writeEnv({ ETCD_DATA_DIR: other, FAKE_MODE: 'run' });
    await assert.rejects(service({ action: 'start' }, { buildId: 't' }), {
      code: 'E_AGENT_REFUSED',
      message: /holds no member\/ folder, and is not empty/,
    });
    const link = join(host.dir, 'srv/link');
    symlinkSync('/etc', link);
    host.writeEnv({ ETCD_DATA_DIR: join(link, 'etcd'), FAKE_MODE: 'run' });
    await assert.rejects(service({ action: 'start' }, { buildId: 't' }), {
      code: 'E_AGENT_REFUSED',
      message: /resolves to \/etc\/etcd, and \/etc\/etcd is in \/etc/,
    });
    // A hard link to a file elsewhere (etcd could plant one to /etc/shadow): not handed over.
    const data = join(host.dir, 'srv/data');
    mkdirSync(join(data, 'member'), { recursive: true });
    linkSync(join(host.dir, 'srv/other/notes'), join(data, 'member/notes'));
    host.writeEnv({ ETCD_DATA_DIR: data, FAKE_MODE: 'run' });
    await assert.rejects(service({ action: 'start' }, { buildId: 't' }), {
      code: 'E_AGENT_REFUSED',
      message: /member\/notes has 2 hard links/,
    });
    // A data dir it would hand over and a WAL dir it refuses: refused before the data dir changes hands.
    const root = join(host.dir, 'srv/roots');
    mkdirSync(join(root, 'member'), { recursive: true, mode: 0o700 });
    host.writeEnv({ ETCD_DATA_DIR: root, ETCD_WAL_DIR: '/etc/etcd-wal', FAKE_MODE: 'run' });
    await assert.rejects(service({ action: 'start' }, { buildId: 't' }), {
      code: 'E_AGENT_REFUSED',
      message: /etcd-wal is in \/etc/,
    });
    for (const p of [root, join(root, 'member')])
      assert.deepEqual([statSync(p).uid, statSync(p).gid], [0, 0], `${p} is still root's`);
    host.writeEnv({ FAKE_MODE: 'run' });
    assert.equal((await service({ action: 'status' }, { buildId: 't' })).running, false);
  });
});

/**
 * A supervisor that records "exited" and then takes half a second to exit, as a real one may inside
 * process.exit: stop must not report the member stopped until that process is gone.
 */
const LINGERING_SUPERVISOR = `#!/bin/sh
state="$1"
sleep 1000 &
child=$!
write() { printf '{"supervisorPid":%s,"supervisorStartTime":0,"binary":"/x","envFile":"/x","logFile":"/x","phase":"%s","etcdPid":%s,"etcdStartTime":null,"startedAtMs":null,"spawns":1,"restarts":0,"lastExit":null,"updatedAtMs":0}' $$ "$1" "$2" >"$state.tmp" && mv "$state.tmp" "$state"; }
trap 'kill $child; wait $child; write exited null; sleep 0.5; exit 0' TERM
write running $child
wait $child
`;

describe('stop waits for the supervisor process itself', () => {
  let host: FakeHost;
  before(() => {
    host = fakeHost();
  });
  after(() => host.remove());

  test('a supervisor that lingers after recording "exited" is gone when stop returns', async () => {
    const script = join(host.dir, 'lingering-supervisor');
    writeFileSync(script, LINGERING_SUPERVISOR);
    chmodSync(script, 0o755);
    mkdirSync(host.runDir, { recursive: true });
    const { stateFile } = supervisorPaths(host.runDir);
    const child = spawn(script, [stateFile], { detached: true, stdio: 'ignore' });
    child.unref();
    assert.ok(await waitUntil(() => readSupervisorState(stateFile)?.phase === 'running', 5_000));
    const s = readSupervisorState(stateFile)!;
    const service = makeEtcdService({
      systemd: () => false,
      layout: host.layout,
      agentCommand: AGENT,
      account: fakeAccount(),
    });
    const r = await service({ action: 'stop' }, { buildId: 't' });
    assert.equal(r.running, false);
    assert.equal(processAlive(s.supervisorPid), false, 'the supervisor process is gone');
    assert.equal(processAlive(s.etcdPid!), false, 'etcd is gone');
  });
});

describe('two starts at once', () => {
  let host: FakeHost;
  before(() => {
    host = fakeHost();
    host.writeEnv({ FAKE_MODE: 'run' });
  });
  after(async () => {
    const s = readSupervisorState(supervisorPaths(host.runDir).stateFile);
    for (const pid of [s?.supervisorPid, s?.etcdPid])
      if (pid && processAlive(pid)) process.kill(pid, 'SIGKILL');
    host.remove();
  });

  test('start twice at the same moment, from two agents: one supervisor, one etcd, both told so', async () => {
    // Two agent processes' worth of handlers: each decides on its own that nothing runs yet.
    const one = makeEtcdService({
      systemd: () => false,
      layout: host.layout,
      agentCommand: AGENT,
      account: fakeAccount(),
    });
    const two = makeEtcdService({
      systemd: () => false,
      layout: host.layout,
      agentCommand: AGENT,
      account: fakeAccount(),
    });
    const [a, b] = await Promise.all([
      one({ action: 'start' }, { buildId: 't' }),
      two({ action: 'start' }, { buildId: 't' }),
    ]);
    assert.equal(a.running && b.running, true);
    assert.equal(a.pid, b.pid, 'both report the one etcd');
    assert.deepEqual([a.changed, b.changed].sort(), [false, true]);
    const supervisors = execFileSync('pgrep', ['-f', `supervise .*${host.runDir}`], { encoding: 'utf8' })
      .trim()
      .split('\n');
    assert.equal(supervisors.length, 1, `one supervisor: ${supervisors.join(', ')}`);
    await one({ action: 'stop' }, { buildId: 't' });
  });
});

describe('supervisor outlives the process that started it', () => {
  let host: FakeHost;
  before(() => {
    host = fakeHost();
    host.writeEnv({ FAKE_MODE: 'run' });
  });
  after(() => {
    const s = readSupervisorState(supervisorPaths(host.runDir).stateFile);
    if (s && processAlive(s.supervisorPid)) process.kill(s.supervisorPid, 'SIGTERM');
    waitUntil(() => !s || !processAlive(s.supervisorPid), 5_000).finally(() => host.remove());
  });

  test('a separate agent process starts etcd and exits; etcd keeps running', async () => {
    const script = `
      import { makeEtcdService } from ${JSON.stringify(join(ROOT, 'agent/handlers/etcd-service.ts'))};
      import { fakeAccount } from ${JSON.stringify(join(ROOT, 'test/unit/agent/handlers/fake-etcd.ts'))};
      const service = makeEtcdService({ systemd: () => false, layout: ${JSON.stringify(host.layout)},
        agentCommand: ${JSON.stringify(AGENT)}, account: fakeAccount() });
      const r = await service({ action: 'start' }, { buildId: 't' });
      process.stdout.write(JSON.stringify(r));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'inherit'],
      timeout: 20_000,
    });
    const r = JSON.parse(out) as { running: boolean; pid: number };
    assert.equal(r.running, true);
    assert.equal(processAlive(r.pid), true, 'etcd survives the exit of the agent that started it');
    const service = makeEtcdService({
      systemd: () => false,
      layout: host.layout,
      agentCommand: AGENT,
      account: fakeAccount(),
    });
    const stopped = await service({ action: 'stop' }, { buildId: 't' });
    assert.equal(stopped.running, false);
    assert.equal(processAlive(r.pid), false);
  });
});

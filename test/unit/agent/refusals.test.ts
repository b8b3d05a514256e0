/**
 * Whoever reaches the agent's socket is root through it: every request tskv never sends is refused
 * by the agent itself (400 for a malformed field, 403 for a rule), with a message naming the rule.
 * Each refusal is sent raw (no client-side schema) through the agent's HTTP server on a Unix
 * socket: the agent executable with the host's paths where a refusal touches nothing, else the
 * same server in this process with handlers working on a temporary folder.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cacheFileName, routes } from '../../../agent/api/index.ts';
import { makeClockSync } from '../../../agent/handlers/clock-sync.ts';
import { makeDataDirMoveAside } from '../../../agent/handlers/datadir.ts';
import { makeEtcdInstall } from '../../../agent/handlers/etcd-install.ts';
import { makeEtcdService } from '../../../agent/handlers/etcd-service.ts';
import { makeFileRead, makeFileWrite } from '../../../agent/handlers/files.ts';
import { type HostLayout, layoutUnder } from '../../../agent/policy/layout.ts';
import { type FakeHost, fakeHost } from './handlers/fake-etcd.ts';
import { fakeRun } from './handlers/fake-run.ts';
import { type RawReply, rawPost, type SocketServer, serveOnSocket } from './serve-on-socket.ts';
import { type RunningAgent, startAgent } from './start-agent.ts';

/** A tarball's sha256, and the name the controller gives it in the hosts' cache. */
const SHA = '1'.repeat(64);
const CACHED = `/var/lib/tskv/cache/${cacheFileName('etcd-v3.5.0-linux-amd64.tar.gz', SHA)}`;

function assertRefused(reply: RawReply, status: 400 | 403, message: RegExp): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.error?.code, status === 400 ? 'E_AGENT_BAD_REQUEST' : 'E_AGENT_REFUSED');
  assert.match(reply.body.error?.message ?? '', message);
}

/** The agent executable (agent/main.ts serve) with the host's paths, shared by the describes below. */
let agent: RunningAgent;
before(async () => {
  agent = await startAgent();
});
after(() => agent.stop());
/** A raw request to the agent executable. */
const post = (path: string, body: unknown) => rawPost(agent.socket, path, body);

describe('the agent executable refuses malformed fields', () => {
  test("a path through '..' (to /etc/shadow)", async () => {
    assertRefused(
      await post(routes.fileRead.path, { path: '/etc/etcd/../shadow' }),
      400,
      /^\/v1\/files\/read: path: must be normalised: no '\.\.' component$/,
    );
  });

  test('a path not in normal form, relative, or with control characters', async () => {
    const cases: [string, RegExp][] = [
      ['etc/etcd/etcd.env', /must be an absolute path/],
      ['/etc//etcd/etcd.env', /must be normalised: no '\/\/'/],
      ['/etc/etcd/./etcd.env', /must be normalised: no '\.' component/],
      ['/etc/etcd/', /must not end in '\/'/],
      ['/etc/etcd/etcd.env\u0000', /must not contain control characters/],
      ['/etc/etcd/etcd.env\n/etc/shadow', /must not contain control characters/],
      [`/etc/etcd/${'x'.repeat(4100)}`, /must be at most 4096 characters/],
    ];
    for (const [path, message] of cases) {
      assertRefused(await post(routes.fileRead.path, { path }), 400, message);
    }
  });

  test('a setuid file written through a .. path', async () => {
    const reply = await post(routes.fileWrite.path, {
      path: '/etc/etcd/../../usr/local/bin/tskv-refusal-test',
      content: '#!/bin/sh\n',
      mode: 0o4755,
    });
    assertRefused(reply, 400, /path: must be normalised: no '\.\.' component/);
    assert.match(reply.body.error?.message ?? '', /mode: must be permission bits 0 to 0o777 \(no setuid/);
  });

  test('a mode outside the permission bits', async () => {
    for (const mode of [-1, 0o1777, 0o2755, 0o4755, 0o10000, 1.5]) {
      assertRefused(
        await post(routes.fileWrite.path, { path: '/etc/etcd/tskv-refusal-test', content: '', mode }),
        400,
        /^\/v1\/files\/write: mode: /,
      );
    }
  });

  test('a group other than etcd (root, wheel, shadow, a number)', async () => {
    for (const group of ['root', 'wheel', 'shadow', '0', 0]) {
      assertRefused(
        await post(routes.fileWrite.path, { path: '/etc/etcd/tskv-refusal-test', content: '', group }),
        400,
        /^\/v1\/files\/write: group: /,
      );
    }
  });

  test('an etcd version that is not a release version (it names the install folder)', async () => {
    for (const version of ['../../../tmp/x', '3.5', '3.5.0/x', '3.5.0 ', 'v3.5.0', '3.5.0-rc/1', '']) {
      assertRefused(
        await post(routes.etcdInstall.path, { tarball: CACHED, sha256: SHA, version }),
        400,
        /version: must be an etcd release version like 3\.5\.17 or 3\.6\.0-rc\.1/,
      );
    }
  });

  test('facts and the data dir route take normalised paths too', async () => {
    assertRefused(
      await post(routes.facts.path, { dataDir: '/var/lib/etcd/../../../root' }),
      400,
      /dataDir: must be normalised/,
    );
    assertRefused(
      await post(routes.dataDirMoveAside.path, { path: '/var/lib/etcd/h1.etcd/..' }),
      400,
      /path: must be normalised/,
    );
  });
});

describe('the agent server refuses NTP servers that are not one host name or address', () => {
  let server: SocketServer;
  before(async () => {
    // Nothing runs on this machine: every command is "not found", so no time service is changed.
    server = await serveOnSocket({ clockSync: makeClockSync({ run: fakeRun({}).run }) });
  });
  after(() => server.close());

  test('a line break or a space would add directives to chrony, ntpd or timesyncd', async () => {
    for (const bad of ['pool.ntp.org\nlogfile /etc/cron.d/x', 'a b', 'pool.ntp.org;x', '-x', '']) {
      assertRefused(
        await server.post(routes.clockSync.path, { servers: [bad] }),
        400,
        /servers\.0: must be a host name or an IP address/,
      );
    }
    const ok = await server.post(routes.clockSync.path, { servers: ['pool.ntp.org', '192.0.2.1', '::1'] });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });
});

describe('the agent executable reads and writes only the files tskv owns', () => {
  test('no read of /etc/shadow, nor of anything outside the env file, the unit file and its folders', async () => {
    for (const path of [
      '/etc/shadow',
      '/root/.ssh/id_ed25519',
      '/etc/etcd',
      '/etc/systemd/system/sshd.service',
    ]) {
      assertRefused(
        await post(routes.fileRead.path, { path }),
        403,
        new RegExp(
          `^the file routes read only /etc/etcd/etcd\\.env, /etc/systemd/system/etcd\\.service and files under /etc/etcd, /var/lib/tskv, /run/tskv, not ${path}$`,
        ),
      );
    }
  });

  test('no write outside /etc/etcd: not cron, not the unit, not the agent executables, not the supervisor state', async () => {
    for (const path of [
      '/etc/cron.d/tskv-refusal-test',
      '/etc/systemd/system/etcd.service',
      '/var/lib/tskv/agent/tskv-agent-refusal-test',
      '/var/lib/tskv/cache/etcd-v3.5.0-linux-amd64.tar.gz',
      '/run/tskv/etcd-supervisor.json',
      '/usr/local/bin/etcd',
    ]) {
      assertRefused(
        await post(routes.fileWrite.path, { path, content: '', mode: 0o644 }),
        403,
        new RegExp(`^the file routes write only files under /etc/etcd, not ${path}$`),
      );
    }
  });
});

describe('the agent server checks what it reads and writes under the allowed folders', () => {
  let dir: string;
  let layout: HostLayout;
  let server: SocketServer;
  const read = (path: string) => server.post(routes.fileRead.path, { path });
  const write = (path: string, content = 'x\n') =>
    server.post(routes.fileWrite.path, { path, content, mode: 0o644 });
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-refusals-'));
    layout = layoutUnder(dir);
    mkdirSync(layout.configDir, { recursive: true, mode: 0o755 });
    mkdirSync(layout.runDir, { recursive: true, mode: 0o755 });
    mkdirSync(join(dir, 'outside'));
    writeFileSync(join(dir, 'outside/secret'), 'secret\n');
    server = await serveOnSocket({ fileRead: makeFileRead(layout), fileWrite: makeFileWrite(layout) });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the env file holds only ETCD_* settings: no LD_PRELOAD for the etcd started as root', async () => {
    assertRefused(
      await write(layout.envFile, 'ETCD_NAME="h1"\nLD_PRELOAD=/tmp/evil.so\n'),
      403,
      /etcd\.env holds only etcd's ETCD_\* settings: line 2 is not ETCD_NAME=value: LD_PRELOAD=/,
    );
    assertRefused(
      await write(layout.envFile, 'ETCD_NAME="h1"\rPATH=/tmp\n'),
      403,
      /etcd\.env holds only etcd's ETCD_\* settings: line 1 has a control character/,
    );
    const ok = await write(layout.envFile, '# tskv\nETCD_NAME="h1"\n');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  test('a symlink under the config folder pointing outside: neither read nor written through', async () => {
    const link = join(layout.configDir, 'link');
    symlinkSync(join(dir, 'outside/secret'), link);
    assertRefused(
      await read(link),
      403,
      /^the file routes read nothing through symlinks: .*\/etc\/etcd\/link is one$/,
    );
    assertRefused(
      await write(link),
      403,
      /^the file routes write nothing through symlinks: .*\/link is one$/,
    );
  });

  test('a symlinked folder under the config folder: refused, nothing written outside', async () => {
    symlinkSync(join(dir, 'outside'), join(layout.configDir, 'pki'));
    assertRefused(
      await write(join(layout.configDir, 'pki/secret')),
      403,
      /^the file routes write nothing through symlinks: .*\/etc\/etcd\/pki is one$/,
    );
    assertRefused(await read(join(layout.configDir, 'pki/secret')), 403, /through symlinks/);
  });

  test('the allowed folder itself a symlink: refused', async () => {
    const real = join(dir, 'var/lib/tskv-real');
    mkdirSync(real, { recursive: true });
    symlinkSync(real, layout.libDir);
    assertRefused(
      await read(join(layout.libDir, 'state')),
      403,
      /^the file routes read nothing through symlinks: .*\/var\/lib\/tskv resolves to .*\/var\/lib\/tskv-real$/,
    );
  });

  test('a folder others can write: refused', async () => {
    const open = join(layout.configDir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    assertRefused(
      await write(join(open, 'f')),
      403,
      /^the file routes write nothing under .*\/etc\/etcd\/open: others can write it \(mode 0777\)$/,
    );
  });

  test("a folder of another user (the --owner user's socket folder under /run/tskv): refused", {
    skip: process.geteuid?.() === 0 ? false : 'needs root to give a folder away',
  }, async () => {
    const userDir = join(layout.runDir, 'agent-test-user');
    mkdirSync(userDir, { mode: 0o700 });
    chownSync(userDir, 65534, 65534);
    symlinkSync('/etc/shadow', join(userDir, 'shadow'));
    assertRefused(
      await read(join(userDir, 'shadow')),
      403,
      /^the file routes read nothing under .*\/run\/tskv\/agent-test-user: it belongs to uid 65534, not to the agent's \(0\)$/,
    );
  });
});

describe('the agent executable installs etcd only from its upload cache, only where tskv keeps it', () => {
  test('a tarball outside /var/lib/tskv/cache', async () => {
    for (const tarball of [
      '/tmp/etcd-v3.5.0-linux-amd64.tar.gz',
      '/var/lib/tskv/cache/sub/etcd.tar.gz',
      '/var/lib/tskv/cache',
    ]) {
      assertRefused(
        await post(routes.etcdInstall.path, { tarball, sha256: SHA, version: '3.5.0' }),
        403,
        new RegExp(`^etcd install takes a tarball only from /var/lib/tskv/cache, not ${tarball}$`),
      );
    }
  });

  test('a tarball in the cache not named by the sha256 asked, or no sha256', async () => {
    for (const tarball of [
      '/var/lib/tskv/cache/etcd-v3.5.0-linux-amd64.tar.gz',
      `/var/lib/tskv/cache/etcd-v3.5.0-linux-amd64.${'0'.repeat(16)}.tar.gz`,
    ]) {
      assertRefused(
        await post(routes.etcdInstall.path, { tarball, sha256: SHA, version: '3.5.0' }),
        403,
        /^etcd install takes only a tarball named by its content \(<name>\.<first 16 hex digits of its sha256>\.tar\.gz, say\): etcd-v3\.5\.0-linux-amd64\.[.0-9a-z]*tar\.gz does not carry 1111111111111111$/,
      );
    }
    assertRefused(
      await post(routes.etcdInstall.path, { tarball: CACHED, version: '3.5.0' }),
      400,
      /^\/v1\/etcd\/install: sha256: /,
    );
  });

  test("no install folder or link folder of the caller's choosing", async () => {
    const tarball = CACHED;
    for (const extra of [{ root: '/etc' }, { binDir: '/usr/sbin' }]) {
      assertRefused(
        await post(routes.etcdInstall.path, { tarball, sha256: SHA, version: '3.5.0', ...extra }),
        400,
        new RegExp(`^/v1/etcd/install: \\(body\\): Unrecognized key: "${Object.keys(extra)[0]}"$`),
      );
    }
  });
});

describe('the agent server takes no tarball through a symlink in the upload cache', () => {
  let dir: string;
  let server: SocketServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-refusals-'));
    const layout = layoutUnder(dir);
    mkdirSync(layout.uploadCacheDir, { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, 'elsewhere.tar.gz'), '');
    symlinkSync(join(dir, 'elsewhere.tar.gz'), `${dir}${CACHED}`);
    server = await serveOnSocket({ etcdInstall: makeEtcdInstall(layout) });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a symlink in the cache pointing elsewhere', async () => {
    assertRefused(
      await server.post(routes.etcdInstall.path, {
        tarball: `${dir}${CACHED}`,
        sha256: SHA,
        version: '3.5.0',
      }),
      403,
      /^etcd install takes nothing through symlinks: .*\/var\/lib\/tskv\/cache\/etcd-v3\.5\.0-linux-amd64\.1{16}\.tar\.gz is one$/,
    );
  });
});

const UNIT = `[Unit]
Description=etcd
[Service]
Type=notify
User=etcd
Group=etcd
EnvironmentFile=/etc/etcd/etcd.env
ExecStart=/usr/local/bin/etcd
[Install]
WantedBy=multi-user.target
`;

describe('the agent executable runs no program as etcd but the one tskv installs', () => {
  // `status` changes nothing, should a refusal ever let a request through.
  test('any other binary', async () => {
    for (const binary of [
      '/bin/sh',
      '/tmp/etcd',
      '/opt/tskv/etcd/vlatest/etcd',
      '/opt/tskv/etcd/v3.5.0/etcdctl',
    ]) {
      assertRefused(
        await post(routes.etcdService.path, { action: 'status', binary }),
        403,
        new RegExp(
          `^etcd runs only as /usr/local/bin/etcd or /opt/tskv/etcd/v<version>/etcd \\(the programs tskv installs\\), not ${binary}$`,
        ),
      );
    }
    const ok = await post(routes.etcdService.path, {
      action: 'status',
      binary: '/opt/tskv/etcd/v3.5.0/etcd',
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  test('a unit that runs anything else, or more', async () => {
    const cases: [string, RegExp][] = [
      [
        UNIT.replace('ExecStart=/usr/local/bin/etcd', 'ExecStart=/bin/sh -c id'),
        /ExecStart= must start \/usr\/local\/bin\/etcd/,
      ],
      [
        UNIT.replace('Type=notify', 'Type=notify\nExecStartPre=/bin/sh -c id'),
        /ExecStartPre= is not allowed in \[Service\]/,
      ],
      [
        UNIT.replace('Type=notify', 'Type=notify\nEnvironment=LD_PRELOAD=/tmp/x.so'),
        /Environment= is not allowed/,
      ],
      [
        UNIT.replace('EnvironmentFile=/etc/etcd/etcd.env', 'EnvironmentFile=/tmp/env'),
        /EnvironmentFile= must be \/etc\/etcd\/etcd\.env/,
      ],
      [UNIT.replace('User=etcd', 'User=root'), /User= must be etcd$/],
      [
        UNIT.replace('Type=notify', 'Type=notify\nReadWritePaths=/etc'),
        /ReadWritePaths= \/etc: is a system folder/,
      ],
      [
        UNIT.replace('Type=notify', 'Type=notify\nAmbientCapabilities=CAP_SYS_ADMIN'),
        /CAP_SYS_ADMIN is not one of/,
      ],
    ];
    for (const [unit, message] of cases) {
      const reply = await post(routes.etcdService.path, { action: 'status', unit });
      assertRefused(reply, 403, message);
      assert.match(reply.body.error?.message ?? '', /^the etcd unit line \d+: /);
    }
    const ok = await post(routes.etcdService.path, { action: 'status', unit: UNIT });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  test("no env file, log file or facts binary of the caller's choosing", async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      [routes.etcdService.path, { action: 'status', envFile: '/tmp/env' }, 'envFile'],
      [routes.etcdService.path, { action: 'status', logFile: '/etc/cron.d/x' }, 'logFile'],
      [routes.etcdLogs.path, { lines: 10, logFile: '/etc/shadow' }, 'logFile'],
      [routes.facts.path, { dataDir: '/var/lib/etcd', etcdBinary: '/tmp/x' }, 'etcdBinary'],
    ];
    for (const [path, body, key] of cases) {
      assertRefused(await post(path, body), 400, new RegExp(`\\(body\\): Unrecognized key: "${key}"$`));
    }
  });
});

describe('the agent server starts no other program under its supervisor', () => {
  let host: FakeHost;
  let server: SocketServer;
  before(async () => {
    host = fakeHost();
    host.writeEnv({ ETCD_NAME: 'h1' });
    server = await serveOnSocket({
      etcdService: makeEtcdService({
        systemd: () => false,
        layout: host.layout,
        agentCommand: ['/bin/false'],
      }),
    });
  });
  after(async () => {
    await server.close();
    host.remove();
  });

  test('start with another binary: refused before anything starts', async () => {
    assertRefused(
      await server.post(routes.etcdService.path, { action: 'start', binary: '/bin/sh' }),
      403,
      /^etcd runs only as .*\/usr\/local\/bin\/etcd or .*\/opt\/tskv\/etcd\/v<version>\/etcd .*, not \/bin\/sh$/,
    );
    assert.equal(
      existsSync(join(host.layout.runDir, 'etcd-supervisor.json')),
      false,
      'no supervisor started',
    );
  });
});

describe('the agent executable moves no system folder aside as a data dir', () => {
  // Each would be refused again further on (none holds member/), should this rule ever let it by.
  test('/, system folders, and anything in /proc, /sys or /dev', async () => {
    for (const path of ['/', '/etc', '/var/lib', '/usr/local', '/home', '/root', '/tmp']) {
      assertRefused(
        await post(routes.dataDirMoveAside.path, { path }),
        403,
        new RegExp(`^the data dir route moves only etcd data dirs: ${path} is a system folder$`),
      );
    }
    for (const [path, dir] of [
      ['/proc/1/root/etc', '/proc'],
      ['/sys/fs/cgroup', '/sys'],
      ['/dev/shm', '/dev'],
    ]) {
      assertRefused(
        await post(routes.dataDirMoveAside.path, { path }),
        403,
        new RegExp(`^the data dir route moves only etcd data dirs: ${path} is in ${dir}$`),
      );
    }
  });
});

describe('the agent server moves aside only etcd data dirs', () => {
  let dir: string;
  let server: SocketServer;
  const move = (path: string) => server.post(routes.dataDirMoveAside.path, { path });
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-refusals-'));
    mkdirSync(join(dir, 'config'));
    writeFileSync(join(dir, 'config/important.conf'), 'x\n');
    writeFileSync(join(dir, 'a-file'), 'x\n');
    mkdirSync(join(dir, 'mounted/member'), { recursive: true });
    symlinkSync('/etc', join(dir, 'etc-link'));
    server = await serveOnSocket({
      dataDirMoveAside: makeDataDirMoveAside({ mountPoints: async () => new Set([join(dir, 'mounted')]) }),
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a folder without member/ that is not empty', async () => {
    assertRefused(
      await move(join(dir, 'config')),
      403,
      /^the data dir route moves only etcd data dirs: .*\/config holds no member\/ folder, and is not empty$/,
    );
  });

  test('a file', async () => {
    assertRefused(await move(join(dir, 'a-file')), 403, /: .*\/a-file is not a directory$/);
  });

  test('a mount point', async () => {
    assertRefused(await move(join(dir, 'mounted')), 403, /: .*\/mounted is a mount point$/);
    // Asked beforehand (restore, before it stops every member): the same refusal, nothing moved.
    const asked = await server.post(routes.dataDirMoveAside.path, {
      path: join(dir, 'mounted'),
      checkOnly: true,
    });
    assertRefused(asked, 403, /: .*\/mounted is a mount point$/);
  });

  test('checkOnly: an etcd data dir that could move stays where it is', async () => {
    mkdirSync(join(dir, 'movable/member'), { recursive: true });
    const r = await server.post(routes.dataDirMoveAside.path, {
      path: join(dir, 'movable'),
      checkOnly: true,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((r.body as { changed: boolean }).changed, false);
    assert.ok(existsSync(join(dir, 'movable/member')));
  });

  test('a symlink to a system folder', async () => {
    assertRefused(
      await move(join(dir, 'etc-link')),
      403,
      /: .*\/etc-link resolves to \/etc, and \/etc is a system folder$/,
    );
  });
});

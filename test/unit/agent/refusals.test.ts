/**
 * Whoever reaches the agent's socket is root through it: every request tskv never sends is refused
 * by the agent itself (400 for a malformed field, 403 for a rule), with a message naming the rule.
 * Each refusal is sent raw (no client-side schema) through the agent's HTTP server on a Unix
 * socket: the agent executable with the host's paths where a refusal touches nothing, else the
 * same server in this process with handlers working on a temporary folder.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { routes } from '../../../agent/api/index.ts';
import { makeClockSync } from '../../../agent/handlers/clock-sync.ts';
import { fakeRun } from './handlers/fake-run.ts';
import { type RawReply, rawPost, type SocketServer, serveOnSocket } from './serve-on-socket.ts';
import { type RunningAgent, startAgent } from './start-agent.ts';

function assertRefused(reply: RawReply, status: 400 | 403, message: RegExp): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.error?.code, status === 400 ? 'E_AGENT_BAD_REQUEST' : 'E_AGENT_REFUSED');
  assert.match(reply.body.error?.message ?? '', message);
}

describe('the agent executable refuses malformed fields', () => {
  let agent: RunningAgent;
  const post = (path: string, body: unknown) => rawPost(agent.socket, path, body);
  before(async () => {
    agent = await startAgent();
  });
  after(() => agent.stop());

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

  test('an etcd version that is not a release version (it names the install folder)', async () => {
    for (const version of ['../../../tmp/x', '3.5', '3.5.0/x', '3.5.0 ', 'v3.5.0', '3.5.0-rc/1', '']) {
      assertRefused(
        await post(routes.etcdInstall.path, {
          tarball: '/var/lib/tskv/cache/etcd-v3.5.0-linux-amd64.tar.gz',
          version,
        }),
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

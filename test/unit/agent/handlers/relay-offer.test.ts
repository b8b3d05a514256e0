/**
 * relay offer on loopback: it serves exactly the allowed file, once, at GET /<token>, to the one
 * address it was offered to; the request's bounds and the path allow-list are refused otherwise.
 * Under firewalld, the rule letting the receiver in (recorded, never applied: fake bus and
 * commands) goes in with the offer's ttl and out when the offer ends.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { cacheFileName, relayOfferRequestSchema } from '../../../../agent/api/index.ts';
import { makeRelayOffer } from '../../../../agent/handlers/relay-offer.ts';
import { layoutUnder } from '../../../../agent/policy/layout.ts';
import { fromAddress, relayFilePath, servesRequest } from '../../../../agent/policy/relay.ts';
import { until } from '../../../fixtures/wait.ts';
import { fakeBus, noBus } from './fake-bus.ts';
import { fakeRun } from './fake-run.ts';

const ctx = { buildId: 'test' };
const root = mkdtempSync(join(tmpdir(), 'tskv-relay-offer-'));
const layout = layoutUnder(root);
const installDir = join(root, 'agent');
const runtime = `${installDir}/node-0123abcd`;
const NAME = 'etcd-v3.5.9-linux-amd64.tar.gz';
const BODY = Buffer.from('tarball bytes '.repeat(5000));
const SHA = createHash('sha256').update(BODY).digest('hex');
const tarball = `${layout.uploadCacheDir}/${cacheFileName(NAME, SHA)}`;
/** The same bytes under another sha256's name, and under the release's own name. */
const OTHER = 'ab'.repeat(32);
const misnamed = `${layout.uploadCacheDir}/${cacheFileName(NAME, OTHER)}`;
const plain = `${layout.uploadCacheDir}/${NAME}`;
mkdirSync(installDir, { recursive: true });
mkdirSync(layout.uploadCacheDir, { recursive: true });
writeFileSync(runtime, 'runtime bytes');
for (const path of [tarball, misnamed, plain]) writeFileSync(path, BODY);

const files = { layout, installDir, execPath: runtime };
const noFirewall = async () => ({ backend: 'none' as const });
const offer = makeRelayOffer(files, { detect: noFirewall });

/** GET `path` on loopback port `port` from `localAddress`: the status and body, or the error's code. */
function get(port: number, path: string, localAddress = '127.0.0.1') {
  return new Promise<{ status?: number; body?: Buffer; error?: string }>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
      res.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
    });
    req.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end();
  });
}

after(() => rmSync(root, { recursive: true, force: true }));

describe('relay offer', () => {
  test('serves the tarball once, at its token only, to the offered address only', async () => {
    const r = await offer(
      { file: { kind: 'tarball', tarball, sha256: SHA }, to: '127.0.0.1', ttlSeconds: 30 },
      ctx,
    );
    assert.equal(r.size, BODY.length);
    assert.equal(r.firewall, 'none');
    assert.equal((await get(r.port, '/wrong')).status, 404);
    assert.equal(
      (await get(r.port, `/${r.token}`, '127.0.0.2')).error,
      'ECONNRESET',
      'another source is cut off',
    );
    const got = await get(r.port, `/${r.token}`);
    assert.equal(got.status, 200);
    assert.ok(got.body!.equals(BODY));
    assert.match(
      String((await get(r.port, `/${r.token}`)).error),
      /^ECONN(RESET|REFUSED)$/,
      'one answer ends the offer',
    );
  });

  test('serves the runtime the agent runs on; closes at the ttl', async () => {
    const r = await offer({ file: { kind: 'runtime' }, to: '127.0.0.1', ttlSeconds: 1 }, ctx);
    assert.equal(r.size, 'runtime bytes'.length);
    const deadline = Date.now() + 5_000;
    let last = await get(r.port, '/none');
    while (last.error !== 'ECONNREFUSED' && Date.now() < deadline) last = await get(r.port, '/none');
    assert.equal(last.error, 'ECONNREFUSED', 'the offer closes once its ttl has passed');
  });

  test('a tarball whose bytes are not the sha256 asked is not offered', async () => {
    await assert.rejects(
      offer(
        { file: { kind: 'tarball', tarball: misnamed, sha256: OTHER }, to: '127.0.0.1', ttlSeconds: 30 },
        ctx,
      ),
      { code: 'E_AGENT_SHA256' },
    );
  });

  test('a tarball name in the cache that is a symlink (to a file named by the same sha256 elsewhere) is refused', async () => {
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere, { recursive: true });
    const SHA2 = 'cd'.repeat(32);
    writeFileSync(join(elsewhere, 'secret'), BODY);
    const link = `${layout.uploadCacheDir}/${cacheFileName(NAME, SHA2)}`;
    symlinkSync(join(elsewhere, 'secret'), link);
    await assert.rejects(
      offer({ file: { kind: 'tarball', tarball: link, sha256: SHA2 }, to: '127.0.0.1', ttlSeconds: 30 }, ctx),
      {
        code: 'E_AGENT_REFUSED',
      },
    );
  });

  test('ufw or nftables filtering: refused (the controller pushes directly)', async () => {
    const ufw = makeRelayOffer(files, { detect: async () => ({ backend: 'ufw' as const }) });
    await assert.rejects(ufw({ file: { kind: 'runtime' }, to: '127.0.0.1', ttlSeconds: 30 }, ctx), {
      code: 'E_AGENT_REFUSED',
      message: /filters with ufw/,
    });
  });

  test('only the runtime in the install dir and tarballs directly in the cache', async () => {
    assert.equal(await relayFilePath({ kind: 'runtime' }, files), runtime);
    await assert.rejects(relayFilePath({ kind: 'runtime' }, { ...files, execPath: '/usr/bin/node' }), {
      code: 'E_AGENT_REFUSED',
    });
    await assert.rejects(
      relayFilePath({ kind: 'runtime' }, { ...files, execPath: `${installDir}/tskv-agent-0123` }),
      { code: 'E_AGENT_REFUSED' },
    );
    for (const bad of [
      '/etc/shadow',
      `${layout.uploadCacheDir}/../agent/x`,
      `${layout.uploadCacheDir}/sub/x.tar.gz`,
      `${layout.uploadCacheDir}/.x.part`,
      `${layout.uploadCacheDir}/.${SHA.slice(0, 16)}.tar.gz`,
      // In the cache, but not named by the sha256 asked: a file another controller's copy could replace.
      plain,
      misnamed,
    ]) {
      await assert.rejects(
        relayFilePath({ kind: 'tarball', tarball: bad, sha256: SHA }, files),
        { code: 'E_AGENT_REFUSED' },
        bad,
      );
    }
    await assert.rejects(relayFilePath({ kind: 'tarball', tarball: plain, sha256: SHA }, files), {
      message: new RegExp(`^a relay serves only a tarball named by its content .*: ${NAME} does not carry`),
    });
    assert.equal(await relayFilePath({ kind: 'tarball', tarball, sha256: SHA }, files), tarball);
  });

  test('the request: IPv4 receiver, ttl 1..300 s, no free path for the runtime', () => {
    const ok = { file: { kind: 'runtime' }, to: '10.0.0.7', ttlSeconds: 120 };
    assert.ok(relayOfferRequestSchema.safeParse(ok).success);
    for (const bad of [
      { ...ok, ttlSeconds: 301 },
      { ...ok, ttlSeconds: 0 },
      { ...ok, to: '10.0.0.256' },
      { ...ok, to: 'fd00::1' },
      { ...ok, to: 'h2.example' },
      { ...ok, file: { kind: 'runtime', path: '/etc/shadow' } },
      { ...ok, file: { kind: 'other' } },
      { ...ok, file: { kind: 'tarball', tarball, sha256: 'x' } },
    ]) {
      assert.equal(relayOfferRequestSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });

  test('source and request checks', () => {
    assert.ok(fromAddress('10.0.0.7', '10.0.0.7'));
    assert.ok(fromAddress('::ffff:10.0.0.7', '10.0.0.7'));
    assert.ok(!fromAddress('10.0.0.8', '10.0.0.7'));
    assert.ok(!fromAddress(undefined, '10.0.0.7'));
    assert.ok(servesRequest('GET', '/abc', 'abc'));
    assert.ok(!servesRequest('POST', '/abc', 'abc'));
    assert.ok(!servesRequest('GET', '/abc?x', 'abc'));
    assert.ok(!servesRequest('GET', '/', 'abc'));
  });
});

describe('relay offer under firewalld', () => {
  const F = 'org.fedoraproject.FirewallD1';
  const ROOT = '/org/fedoraproject/FirewallD1';
  const firewalld = async () => ({ backend: 'firewalld' as const, defaultZone: 'public' });
  const rule = (port: number) =>
    `rule family="ipv4" source address="127.0.0.1" port port="${port}" protocol="tcp" accept`;
  /** A host whose firewalld answers on the system bus; `addRichRule` is its answer to the addition. */
  const busHost = (addRichRule: string[] | Error = ['public']) =>
    fakeBus({
      [`${ROOT} ${F}.getDefaultZone`]: ['public'],
      [`${ROOT}/config ${F}.config.getZoneByName public`]: [`${ROOT}/config/zone/6`],
      [`${ROOT} ${F}.zone.addRichRule`]: addRichRule,
      [`${ROOT} ${F}.zone.removeRichRule`]: ['public'],
    });
  const removed = (calls: string[]) => calls.filter((c) => c.includes('removeRichRule'));

  test('over D-Bus: the rule lets the receiver in on the port for the ttl; out once the file is served', async () => {
    const bus = busHost();
    const run = fakeRun({});
    const offer = makeRelayOffer(files, { detect: firewalld, bus: bus.bus, run: run.run });
    const r = await offer({ file: { kind: 'runtime' }, to: '127.0.0.1', ttlSeconds: 120 }, ctx);
    assert.equal(r.firewall, 'firewalld');
    assert.deepEqual(
      bus.calls.filter((c) => c.includes('RichRule')),
      [`${ROOT} ${F}.zone.addRichRule public ${rule(r.port)} 120`],
    );
    assert.equal((await get(r.port, `/${r.token}`)).status, 200);
    await until('the rule is removed', () => removed(bus.calls).length > 0, 5_000);
    assert.deepEqual(removed(bus.calls), [`${ROOT} ${F}.zone.removeRichRule public ${rule(r.port)}`]);
    assert.deepEqual(run.calls, [], 'no firewall-cmd started');
  });

  test('over D-Bus: the rule goes when the ttl passes with nothing served', async () => {
    const bus = busHost();
    const offer = makeRelayOffer(files, { detect: firewalld, bus: bus.bus, run: fakeRun({}).run });
    const r = await offer({ file: { kind: 'runtime' }, to: '127.0.0.1', ttlSeconds: 1 }, ctx);
    assert.ok(bus.calls.includes(`${ROOT} ${F}.zone.addRichRule public ${rule(r.port)} 1`));
    await until('the rule is removed at the ttl', () => removed(bus.calls).length > 0, 5_000);
    assert.deepEqual(removed(bus.calls), [`${ROOT} ${F}.zone.removeRichRule public ${rule(r.port)}`]);
    assert.equal((await get(r.port, `/${r.token}`)).error, 'ECONNREFUSED', 'the offer is closed too');
  });

  test('without D-Bus: firewall-cmd adds the rule with --timeout and removes it once served', async () => {
    const run = fakeRun({ 'firewall-cmd --zone=public': {} });
    const offer = makeRelayOffer(files, { detect: firewalld, bus: noBus, run: run.run });
    const r = await offer({ file: { kind: 'runtime' }, to: '127.0.0.1', ttlSeconds: 120 }, ctx);
    assert.equal(r.firewall, 'firewalld');
    assert.deepEqual(run.calls, [
      `firewall-cmd --zone=public --add-rich-rule=${rule(r.port)} --timeout=120s`,
    ]);
    assert.equal((await get(r.port, `/${r.token}`)).status, 200);
    await until('the rule is removed', () => run.calls.length > 1, 5_000);
    assert.deepEqual(run.calls.slice(1), [`firewall-cmd --zone=public --remove-rich-rule=${rule(r.port)}`]);
  });

  test('without D-Bus, zone unknown: firewall-cmd names the default zone first', async () => {
    const run = fakeRun({
      'firewall-cmd --get-default-zone': { stdout: 'internal\n' },
      'firewall-cmd --zone=internal': {},
    });
    const offer = makeRelayOffer(files, {
      detect: async () => ({ backend: 'firewalld' as const }),
      bus: noBus,
      run: run.run,
    });
    const r = await offer({ file: { kind: 'runtime' }, to: '127.0.0.1', ttlSeconds: 1 }, ctx);
    assert.deepEqual(run.calls, [
      'firewall-cmd --get-default-zone',
      `firewall-cmd --zone=internal --add-rich-rule=${rule(r.port)} --timeout=1s`,
    ]);
    await until('the rule is removed at the ttl', () => run.calls.length > 2, 5_000);
    assert.equal(run.calls[2], `firewall-cmd --zone=internal --remove-rich-rule=${rule(r.port)}`);
  });

  test('a rule firewalld refuses: no offer, its port closed, nothing to remove', async () => {
    const bus = busHost(new Error(`${F}.Exception: INVALID_RULE`));
    const offer = makeRelayOffer(files, { detect: firewalld, bus: bus.bus, run: fakeRun({}).run });
    const err = await offer({ file: { kind: 'runtime' }, to: '127.0.0.1', ttlSeconds: 120 }, ctx).then(
      () => assert.fail('offered'),
      (e: Error & { code?: string }) => e,
    );
    assert.equal(err.code, 'E_AGENT_COMMAND_FAILED');
    const m = /^cannot let 127\.0\.0\.1 in on (\d+)\/tcp: D-Bus .*addRichRule.*INVALID_RULE/.exec(
      err.message,
    );
    assert.ok(m, err.message);
    assert.equal((await get(Number(m[1]), '/x')).error, 'ECONNREFUSED');
    assert.deepEqual(removed(bus.calls), []);
  });

  test('the ttl passing while the rule goes in: no offer, and the rule is taken out once it is in', async () => {
    const bus = busHost();
    // firewalld answers the addition only once the offer's port is closed (its ttl has passed).
    const slow = async (call: Parameters<typeof bus.bus>[0]) => {
      const port = /port="(\d+)"/.exec(call.args?.[1] ?? '')?.[1];
      if (call.method.endsWith('addRichRule') && port) {
        await until(
          'the offer closes',
          async () => (await get(Number(port), '/x')).error === 'ECONNREFUSED',
          5_000,
        );
      }
      return bus.bus(call);
    };
    const offer = makeRelayOffer(files, { detect: firewalld, bus: slow, run: fakeRun({}).run });
    await assert.rejects(offer({ file: { kind: 'runtime' }, to: '127.0.0.1', ttlSeconds: 1 }, ctx), {
      code: 'E_AGENT_COMMAND_FAILED',
      message: /the offer's 1 s passed while its firewalld rule went in/,
    });
    await until('the rule is removed', () => removed(bus.calls).length > 0, 5_000);
    const added = bus.calls.find((c) => c.includes('addRichRule'))!;
    assert.deepEqual(removed(bus.calls), [added.replace('addRichRule', 'removeRichRule').replace(/ 1$/, '')]);
  });
});

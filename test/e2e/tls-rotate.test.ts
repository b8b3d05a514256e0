/**
 * `tskv certs rotate` on a TLS cluster of systemd hosts, under a client writing throughout: new
 * certificates rolled out member by member and the replaced ones refused afterwards (the CA's
 * revocation list); then the CA itself rotated in three rolling passes, after which a client
 * certificate of the old CA is refused. Neither loses an acknowledged write or quorum; a dry run
 * changes nothing; a deploy afterwards has nothing to do.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Lab, type LabHost, labUnavailableReason } from '../../lab/lab.ts';
import { tskv } from './cli.ts';
import { assertDeployed, deploy, etcdPids } from './deploy-helpers.ts';
import { assertOk, openLive } from './replace-helpers.ts';
import { killedAt, underWriter } from './sweep.ts';

const NAME = 'e2e-tls-rotate';
const HOSTS = ['h102', 'docker', 'h104'];
/** tskv's client identity in the PKI folder, as copied to a host. */
const IDENTITY = { 'ca.crt': 'ca.crt', 'client.crt': 'client.crt', 'client.key': 'client.key' };

describe('certs rotate: certificates, then the CA, without downtime (tls.mode auto, systemd hosts)', {
  skip: labUnavailableReason() ?? false,
}, () => {
  let lab: Lab;
  let inventory: string;
  let pki: string;

  before(async () => {
    lab = await Lab.up({ name: NAME, hosts: HOSTS, fresh: true, init: 'systemd' });
    inventory = lab.writeInventory({ tls: { mode: 'auto' } }, 'rotate.yaml');
    pki = join(lab.layout.dir, 'rotate.pki');
    rmSync(pki, { recursive: true, force: true }); // an earlier run's (the lab's folder outlives it)
  });
  after(() => Lab.down(NAME));

  /** Every file of the PKI folder with its bytes. */
  function pkiSnapshot(): Map<string, string> {
    const files = new Map<string, string>();
    for (const e of readdirSync(pki, { recursive: true, withFileTypes: true })) {
      if (e.isFile())
        files.set(
          relative(pki, join(e.parentPath, e.name)),
          readFileSync(join(e.parentPath, e.name), 'utf8'),
        );
    }
    return files;
  }

  /** Copies PKI files to `dir` on `host` (2379 and 2380 are not reachable from this machine). */
  async function copyToHost(host: LabHost, dir: string, files: Record<string, string>): Promise<void> {
    await host.execOk(`mkdir -p -m 700 ${dir}`);
    for (const [to, from] of Object.entries(files))
      await host.execOk(`cat >${dir}/${to}`, { input: readFileSync(join(pki, from), 'utf8') });
  }
  const curl = (host: LabHost, args: string) => host.exec(`curl -sS --max-time 5 --http1.1 ${args}`);
  const withCert = (dir: string, cert = 'client', ca = dir) =>
    `--cacert ${ca}/ca.crt --cert ${dir}/${cert}.crt --key ${dir}/${cert}.key`;
  const docker = () => lab.host('docker');
  const h102 = () => lab.host('h102');

  async function assertAnswers(host: LabHost, args: string, what: string): Promise<string> {
    const r = await curl(host, args);
    assert.equal(r.code, 0, `${what}: ${r.stderr}`);
    return r.stdout;
  }

  /** Refused by TLS: the handshake fails (the member answers the same URL with a certificate it accepts). */
  async function assertRefused(host: LabHost, args: string, what: string): Promise<void> {
    const r = await curl(host, args);
    assert.notEqual(r.code, 0, `${what} was accepted: ${r.stdout}`);
    assert.match(r.stderr, /alert|certificate|reset|closed|handshake|empty reply|getpeername/i, what);
  }

  test('deploy; a dry run of either rotation changes nothing', async () => {
    assertDeployed(await deploy(inventory));
    // What h102 holds before any rotation, to try after it.
    await copyToHost(h102(), '/root/before', {
      ...IDENTITY,
      'peer.crt': 'members/h102/peer.crt',
      'peer.key': 'members/h102/peer.key',
      'server.crt': 'members/h102/server.crt',
      'server.key': 'members/h102/server.key',
    });
    const health = await assertAnswers(
      h102(),
      `${withCert('/root/before')} https://${docker().address}:2379/health`,
      'the client certificate before the rotation',
    );
    assert.equal(JSON.parse(health).health, 'true');
    await assertAnswers(
      h102(),
      `${withCert('/root/before', 'peer')} https://${docker().address}:2380/members`,
      "h102's peer certificate on docker's peer port before the rotation",
    );
    const pids = await etcdPids(lab);
    const files = pkiSnapshot();
    const dry = async (...args: string[]) => {
      const r = await tskv(['certs', 'rotate', inventory, ...args, '--dry-run']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /dry run: nothing was changed/);
      return r.stdout;
    };
    assert.equal((await dry()).match(/: restart etcd \(new certificates/g)?.length, 3);
    assert.equal((await dry('--ca')).match(/: restart etcd \(pass \d of 3/g)?.length, 9);
    assert.deepEqual(pkiSnapshot(), files, 'the PKI folder is as it was');
    assert.deepEqual(await etcdPids(lab), pids, 'no member restarted');
  });

  test('certs rotate under a writer: 0 acknowledged writes lost, one member out at most; the replaced certificates are refused', async () => {
    const before = await etcdPids(lab);
    const live = await openLive(inventory);
    try {
      const { result, writer, monitor, ms } = await underWriter(
        live.live.cluster(3000),
        'rotate/certs',
        inventory,
        () => tskv(['certs', 'rotate', inventory, '--yes']),
        20,
      );
      assertOk(result, 'certs rotate');
      assert.match(result.stdout, /rotated: restarted (\w+, ){2}\w+ one at a time/);
      assert.deepEqual(await writer.lost(), []);
      assert.ok(writer.acknowledged.length > 10, `the writer wrote (${writer.acknowledged.length})`);
      assert.ok(monitor.maxDownAtOnce() <= 1, `${monitor.maxDownAtOnce()} members out at once`);
      process.stderr.write(`certs rotate: ${ms} ms, ${writer.acknowledged.length} writes\n`);
    } finally {
      await live.close();
    }
    const after = await etcdPids(lab);
    for (const h of HOSTS) assert.notEqual(after[h], before[h], `${h} restarted`);
    assert.equal(existsSync(join(pki, 'rotation.json')), false, 'the rotation is over');

    // The new client certificate works; every replaced one is refused by every member.
    await copyToHost(h102(), '/root/certs', IDENTITY);
    const url = `https://${docker().address}:2379/health`;
    assert.equal(
      JSON.parse(
        await assertAnswers(h102(), `${withCert('/root/certs')} ${url}`, 'the new client certificate'),
      ).health,
      'true',
    );
    await assertRefused(h102(), `${withCert('/root/before')} ${url}`, 'the replaced client certificate');
    await assertRefused(
      h102(),
      `${withCert('/root/before', 'server')} ${url}`,
      "h102's replaced server certificate",
    );
    await assertRefused(
      h102(),
      `${withCert('/root/before', 'peer')} https://${docker().address}:2380/members`,
      "h102's replaced peer certificate on docker's peer port",
    );
    await assertAnswers(
      h102(),
      `--cacert /etc/etcd/pki/ca.crt --cert /etc/etcd/pki/peer.crt --key /etc/etcd/pki/peer.key https://${docker().address}:2380/members`,
      "h102's new peer certificate on docker's peer port",
    );
  });

  test('certs rotate --ca under a writer, stopped in its second pass and run again: 0 lost, one member out at most; a client certificate of the old CA is refused, the new one works', async () => {
    const oldCa = readFileSync(join(pki, 'ca.crt'), 'utf8');
    const live = await openLive(inventory);
    const rotate = ['certs', 'rotate', inventory, '--ca', '--yes'];
    try {
      const { result, writer, monitor, ms } = await underWriter(
        live.live.cluster(3000),
        'rotate/ca',
        inventory,
        async () => {
          // Killed as the second pass's second member starts (steps: the automatic snapshot, the
          // new CA, 3 members' trust and restart, the new certificates, the first member's files
          // and restart), as a Ctrl-C or a lost connection would stop it: the re-run finishes
          // that rotation.
          await killedAt(rotate, { before: '11' });
          return tskv(rotate);
        },
        20,
      );
      assertOk(result, 'certs rotate --ca, run again');
      assert.match(result.stdout, /resuming the rotation in progress \(phase reissue\)/);
      const restarts = (pass: number) =>
        result.stdout.match(new RegExp(`restart etcd \\(pass ${pass} of 3`, 'g'))?.length ?? 0;
      assert.deepEqual(
        [restarts(1), restarts(2), restarts(3)],
        [0, 2, 3],
        'the member through pass 2 is left alone',
      );
      assert.deepEqual(await writer.lost(), []);
      assert.ok(writer.acknowledged.length > 10, `the writer wrote (${writer.acknowledged.length})`);
      assert.ok(monitor.maxDownAtOnce() <= 1, `${monitor.maxDownAtOnce()} members out at once`);
      process.stderr.write(`certs rotate --ca: ${ms} ms, ${writer.acknowledged.length} writes\n`);
    } finally {
      await live.close();
    }
    const newCa = readFileSync(join(pki, 'ca.crt'), 'utf8');
    assert.notEqual(newCa, oldCa);
    for (const f of ['retiring-ca.crt', 'retiring-ca.key', 'retiring-ca.crl', 'rotation.json'])
      assert.equal(existsSync(join(pki, f)), false, `${f} is gone`);
    for (const h of HOSTS) {
      assert.equal(
        await lab.host(h).execOk('cat /etc/etcd/pki/ca.crt'),
        newCa,
        `${h} trusts only the new CA`,
      );
    }
    await copyToHost(h102(), '/root/ca', IDENTITY);
    const url = `https://${docker().address}:2379/health`;
    assert.equal(
      JSON.parse(
        await assertAnswers(h102(), `${withCert('/root/ca')} ${url}`, 'the new CA’s client certificate'),
      ).health,
      'true',
    );
    await assertRefused(
      h102(),
      `${withCert('/root/certs', 'client', '/root/ca')} ${url}`,
      'a client certificate of the old CA',
    );
  });

  test('a deploy after the rotations has nothing to do', async () => {
    const again = await deploy(inventory);
    assertDeployed(again);
    assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
    assert.deepEqual(again.doc.actions['pki'], []);
  });
});

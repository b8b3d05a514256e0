/**
 * tls.mode auto on systemd hosts: deploy creates the controller's PKI and places each member's
 * certificates; clients and peers speak only TLS with certificates of that CA; tskv's own checks go
 * over TLS; only peer certificates speak on the peer port; a member whose certificates change is
 * restarted alone; a joining member gets its certificates first; a dry run makes no PKI. The first
 * deploy runs with h102's clock 4.4 s ahead and h104's 4.4 s behind (the seed's skew): the
 * certificates made then are valid there at once.
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Lab, type LabHost, labUnavailableReason } from '../../lab/lab.ts';
import { tskv } from './cli.ts';
import {
  assertDeployed,
  CLIENT_CERT_DIR,
  CURL_CLIENT_CERT,
  deploy,
  etcdPids,
  peerCertShown,
  placeClientCert,
} from './deploy-helpers.ts';
import { assertOk, names, openLive } from './replace-helpers.ts';
import { underWriter } from './sweep.ts';

const NAME = 'e2e-tls';
const CLIENT = CLIENT_CERT_DIR;

describe("TLS with tskv's own PKI (tls.mode auto, systemd hosts)", {
  skip: labUnavailableReason() ?? false,
}, () => {
  let lab: Lab;
  let inventory: string;
  let all: string;
  let pki: string;

  before(async () => {
    lab = await Lab.up({
      name: NAME,
      hosts: ['h102', 'docker', 'h104', 'h105'],
      fresh: true,
      init: 'systemd',
    });
    inventory = lab.writeInventory({ tls: { mode: 'auto' }, hosts: { h105: null } }, 'tls.yaml');
    // The same PKI folder: named after tls.yaml, whichever inventory file names it.
    all = lab.writeInventory({ tls: { mode: 'auto', dir: 'tls.pki' } }, 'tls-all.yaml');
    pki = join(lab.layout.dir, 'tls.pki');
  });
  after(() => Lab.down(NAME));

  const three = () => ['h102', 'docker', 'h104'].map((n) => lab.host(n));

  const withClientCert = (host: LabHost) => placeClientCert(host, pki);
  const curl = (host: LabHost, args: string) => host.exec(`curl -sS --max-time 5 ${args}`);
  const withCert = CURL_CLIENT_CERT;

  /** Each skewed host's clock (seconds since the epoch, as its own programs see it) before the first deploy. */
  const skewedStart: Record<string, number> = {};
  const SKEWS = { h102: 4.4, h104: -4.4 } as const;
  const hostClock = async (h: LabHost) => Number(await h.execOk('date +%s.%N'));

  test('deploy on bare hosts: the PKI made, every member healthy over TLS', async () => {
    // The lab cannot set clocks (no CAP_SYS_TIME): deploy is told to go on with the skew.
    for (const [name, seconds] of Object.entries(SKEWS)) {
      await lab.skew(name, seconds);
      skewedStart[name] = await hostClock(lab.host(name));
    }
    const dry = await deploy(inventory, ['--dry-run', '--allow-skew']);
    assert.equal(dry.result.code, 0, dry.result.stderr);
    assert.match(
      dry.result.stdout,
      /place TLS files ca\.crt, server\.crt, server\.key, peer\.crt, peer\.key/,
    );
    assert.equal(existsSync(pki), false, 'a dry run makes no PKI');
    const run = await deploy(inventory, ['--allow-skew']);
    assertDeployed(run);
    assert.ok(
      run.doc.actions['pki']?.some((a) => /created ca\.crt/.test(a)),
      JSON.stringify(run.doc.actions['pki']),
    );
    assert.equal(statSync(pki).mode & 0o777, 0o700);
    assert.equal(statSync(join(pki, 'ca.key')).mode & 0o777, 0o600);
    for (const h of three()) {
      assert.equal(
        (await h.execOk('stat -c "%n %U:%G %a" /etc/etcd/pki/*')).trim(),
        ['ca.crt', 'crl.der', 'peer.crt', 'peer.key', 'server.crt', 'server.key']
          .map((f) => `/etc/etcd/pki/${f} root:etcd 640`)
          .join('\n'),
        h.name,
      );
    }
    // Not a single private key in what deploy printed.
    assert.doesNotMatch(run.result.stdout + run.result.stderr, /PRIVATE KEY/);
  });

  test('on hosts 4.4 s ahead and 4.4 s behind, the certificates just made are valid at once', async () => {
    try {
      for (const name of Object.keys(SKEWS)) {
        const h = lab.host(name);
        // etcd is Go, which libfaketime does not reach; openssl and curl on the host see its clock.
        const seen = await hostClock(h);
        assert.ok(
          Math.abs(seen - Date.now() / 1000 - SKEWS[name as keyof typeof SKEWS]) < 2,
          `${name}'s clock: ${seen}`,
        );
        for (const file of ['server.crt', 'peer.crt']) {
          const path = `/etc/etcd/pki/${file}`;
          const verify = await h.exec(`openssl verify -CAfile /etc/etcd/pki/ca.crt ${path}`);
          assert.equal(verify.code, 0, `${name} ${file}: ${verify.stdout}${verify.stderr}`);
          // Made after this host's clock read skewedStart, yet valid before it: backdated.
          const notBefore = Date.parse(
            (await h.execOk(`openssl x509 -in ${path} -noout -startdate`)).trim().replace('notBefore=', ''),
          );
          assert.ok(notBefore / 1000 < skewedStart[name]! - 60, `${name} ${file} notBefore ${notBefore}`);
        }
        await withClientCert(h);
        const health = await curl(h, `${withCert} https://127.0.0.1:2379/health`);
        assert.equal(health.code, 0, `${name}: ${health.stderr}`);
        assert.equal(JSON.parse(health.stdout).health, 'true');
      }
    } finally {
      for (const name of Object.keys(SKEWS)) await lab.skew(name, 0);
    }
  });

  test('with the client certificate etcd answers; plain HTTP and TLS without a certificate are refused', async () => {
    const h102 = lab.host('h102');
    await withClientCert(h102);
    for (const url of [
      'https://127.0.0.1:2379/health',
      `https://${lab.host('docker').address}:2379/health`,
    ]) {
      const ok = await curl(h102, `${withCert} ${url}`);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(JSON.parse(ok.stdout).health, 'true', url);
    }
    // Refused by TLS, not by a member that is down: the same URLs answer with the certificate above.
    const plain = await curl(h102, 'http://127.0.0.1:2379/health');
    assert.equal(plain.code, 52, `plain HTTP got an answer (${plain.code}): ${plain.stdout}${plain.stderr}`);
    assert.match(plain.stderr, /Empty reply from server/);
    const certless = await curl(h102, `--cacert ${CLIENT}/ca.crt https://127.0.0.1:2379/health`);
    assert.notEqual(certless.code, 0, `TLS without a client certificate answered: ${certless.stdout}`);
    assert.match(certless.stderr, /alert|certificate|getpeername|reset/i);
    const members = await curl(h102, `${withCert} https://127.0.0.1:2379/v2/members`);
    const list = JSON.parse(members.stdout) as { members: { name: string; peerURLs: string[] }[] };
    assert.deepEqual(
      list.members.map((m) => m.peerURLs[0]).sort(),
      three()
        .map((h) => `https://${h.address}:2380`)
        .sort(),
    );
  });

  test("tskv env's lines give etcdctl the endpoints and identity (run on a host: 2379 is not reachable from here)", async () => {
    const env = await tskv(['env', inventory]);
    assert.equal(env.code, 0, env.stderr);
    assert.match(
      env.stdout,
      new RegExp(`^export ETCDCTL_CACERT=${join(pki, 'ca.crt').replaceAll('.', '\\.')}$`, 'm'),
    );
    const onHost = env.stdout.replaceAll(`${pki}/`, `${CLIENT}/`);
    const health = await lab.host('h102').exec(`${onHost}etcdctl endpoint health`);
    assert.equal(health.code, 0, health.stdout + health.stderr);
    const said = health.stdout + health.stderr;
    assert.equal(said.match(/is healthy/g)?.length, 3, said);
  });

  test("the peer port shows the member's own certificate of the CA, naming its address", async () => {
    const docker = lab.host('docker');
    const shown = await peerCertShown(lab.host('h102'), docker);
    assert.match(shown, /issuer=CN ?= ?tskv etcd CA /);
    assert.match(shown, new RegExp(`IP Address:${docker.address.replaceAll('.', '\\.')}`));
    assert.match(shown, /DNS:docker/);
    // Only a member's peer certificate speaks on the peer port, not the client one of the same CA.
    const h102 = lab.host('h102');
    const asPeer = await curl(
      h102,
      `--http1.1 --cacert /etc/etcd/pki/ca.crt --cert /etc/etcd/pki/peer.crt --key /etc/etcd/pki/peer.key https://${docker.address}:2380/members`,
    );
    assert.equal(asPeer.code, 0, asPeer.stderr);
    assert.match(asPeer.stdout, /"name":"docker"/);
    const asClient = await curl(h102, `--http1.1 ${withCert} https://${docker.address}:2380/members`);
    assert.notEqual(
      asClient.code,
      0,
      `the client certificate was let onto the peer port: ${asClient.stdout}`,
    );
    assert.match(asClient.stderr, /alert|certificate|reset|closed/i);
  });

  test('status and a second deploy go over TLS: nothing to do', async () => {
    const status = await tskv(['status', inventory]);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    for (const h of three()) assert.match(status.stdout, new RegExp(` ${h.name} +started +healthy `), h.name);
    for (const h of three())
      assert.match(
        status.stdout,
        new RegExp(`^${h.name} .* server 36\\dd, peer 36\\dd, ca \\d{4}d`, 'm'),
        h.name,
      );
    const again = await deploy(inventory);
    assertDeployed(again);
    assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
    assert.deepEqual(again.doc.actions['pki'], [], 'the PKI is kept as it is');
    // The same cluster under an inventory without tls: refused by name, not by members that do not answer.
    const plain = lab.writeInventory({ hosts: { h105: null } }, 'plain.yaml');
    const refused = await deploy(plain);
    assert.equal(refused.result.code, 1);
    assert.equal(refused.doc.error?.code, 'E_TLS_CHANGE', JSON.stringify(refused.doc.error));
    assert.match(refused.doc.error!.message, /the cluster runs TLS \(h102, docker, h104\)/);
    // The inventory under another name (its default PKI folder with it): refused before a new CA is made.
    const renamed = lab.writeInventory({ tls: { mode: 'auto' }, hosts: { h105: null } }, 'renamed.yaml');
    const other = await deploy(renamed);
    assert.equal(other.doc.error?.code, 'E_TLS_OTHER_CA', JSON.stringify(other.doc.error));
    assert.match(
      other.doc.error!.message,
      /h102, docker, h104 trust another CA than .*renamed\.pki\/ca\.crt/,
    );
    assert.equal(existsSync(join(lab.layout.dir, 'renamed.pki')), false, 'no second CA was made');
  });

  test("a member's certificates made again: its files updated and it alone restarted", async () => {
    const before = await etcdPids(lab);
    rmSync(join(pki, 'members', 'h104'), { recursive: true });
    const run = await deploy(inventory, ['--yes']);
    assertDeployed(run);
    assert.deepEqual(run.doc.restarted, ['h104']);
    assert.ok(
      run.doc.actions['h104']?.some((a) => a.startsWith('update /etc/etcd/pki/server.crt')),
      JSON.stringify(run.doc.actions['h104']),
    );
    const after = await etcdPids(lab);
    assert.notEqual(after['h104'], before['h104']);
    for (const h of ['h102', 'docker']) assert.equal(after[h], before[h], `${h} not restarted`);
  });

  test('replace h104 by h105 through a learner under a writer: h105 gets its certificates first, nothing lost', async () => {
    const live = await openLive(all);
    const { result: r, writer } = await underWriter(
      live.live.cluster(3000),
      'tls/learner',
      all,
      () => tskv(['replace', all, 'h104=h105', '--yes']),
      20,
    );
    try {
      assertOk(r, 'replace h104=h105');
      assert.deepEqual(names(await live.members()), ['docker', 'h102', 'h105']);
      assert.deepEqual(await writer.lost(), []);
      assert.ok(writer.acknowledged.length > 10, `the writer wrote (${writer.acknowledged.length})`);
    } finally {
      await live.close();
    }
    const h105 = lab.host('h105');
    assert.match(await h105.execOk('ls /etc/etcd/pki'), /peer\.key/);
    await withClientCert(h105);
    const health = await curl(h105, `${withCert} https://${h105.address}:2379/health`);
    assert.equal(JSON.parse(health.stdout).health, 'true', health.stderr);
  });
});

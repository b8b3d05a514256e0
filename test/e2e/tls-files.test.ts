/**
 * tls.mode files on init-less hosts: the operator brings a CA and certificates made with openssl.
 * A set whose certificate misses its host's address is refused before any host is reached; a good
 * set is placed where tls.mode auto places its own, and the cluster serves only TLS with it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Lab, type LabHost, labUnavailableReason } from '../../lab/lab.ts';
import { tskv } from './cli.ts';
import { assertDeployed, deploy, etcdPids } from './deploy-helpers.ts';

const NAME = 'e2e-tls-files';
const HOSTS = ['h102', 'docker', 'h104'];
const CLIENT = '/root/tskv-client';
/** The operator's PKI, beside the inventories in the lab's folder (named relative to them). */
const PKI = 'user-pki';

describe("TLS with the operator's own CA (tls.mode files, init-less hosts)", {
  skip: labUnavailableReason() ?? false,
}, () => {
  let lab: Lab;
  let pki: string;
  let good: string;
  let bad: string;

  /** openssl in the operator's PKI folder, as they would run it. */
  const openssl = (script: string) => execFileSync('sh', ['-ec', script], { cwd: pki, stdio: 'pipe' });

  /** A key (0600) and a certificate of the CA with these extensions. */
  function issue(stem: string, subject: string, extensions: string[]): void {
    openssl(
      `openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ${stem}.key -out ${stem}.csr -subj /CN=${subject} 2>/dev/null
       printf '%s\\n' ${extensions.map((e) => `'${e}'`).join(' ')} >${stem}.ext
       openssl x509 -req -in ${stem}.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile ${stem}.ext -out ${stem}.crt 2>/dev/null
       chmod 600 ${stem}.key`,
    );
  }
  const member = (sans: string) => [`subjectAltName=${sans}`, 'extendedKeyUsage=serverAuth,clientAuth'];

  before(async () => {
    lab = await Lab.up({ name: NAME, hosts: HOSTS, fresh: true });
    pki = join(lab.layout.dir, PKI);
    rmSync(pki, { recursive: true, force: true }); // an earlier run's (the lab's folder outlives it)
    mkdirSync(pki, { mode: 0o700 });
    openssl(
      'openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -days 365 -subj /CN=my-etcd-ca 2>/dev/null; chmod 600 ca.key',
    );
    issue('client', 'me', ['extendedKeyUsage=clientAuth']);
    const ip = (n: string) => lab.host(n).address;
    // h102 and h104: one certificate for the server and peer ports; docker: a peer pair of its own.
    issue('h102', 'h102', member(`IP:${ip('h102')},IP:127.0.0.1,DNS:h102`));
    issue('docker', 'docker', member(`IP:${ip('docker')},IP:127.0.0.1`));
    issue('docker-peer', 'docker-peer', member(`IP:${ip('docker')}`));
    issue('h104', 'h104', member(`IP:${ip('h104')},IP:127.0.0.1,DNS:h104`));
    issue('h104-bad', 'h104', member('IP:127.0.0.1,DNS:h104')); // its address missing
    const tls = (stem: string) => ({ cert: `${PKI}/${stem}.crt`, key: `${PKI}/${stem}.key` });
    const inventory = (h104: string, file: string) =>
      lab.writeInventory(
        {
          tls: { mode: 'files', ca: `${PKI}/ca.crt`, client: tls('client') },
          hosts: {
            h102: { tls: tls('h102') },
            docker: {
              tls: {
                ...tls('docker'),
                peerCert: `${PKI}/docker-peer.crt`,
                peerKey: `${PKI}/docker-peer.key`,
              },
            },
            h104: { tls: tls(h104) },
          },
        },
        file,
      );
    good = inventory('h104', 'files.yaml');
    bad = inventory('h104-bad', 'files-bad.yaml');
  });
  after(() => Lab.down(NAME));

  const all = () => HOSTS.map((n) => lab.host(n));
  const curl = (host: LabHost, args: string) => host.exec(`curl -sS --max-time 5 ${args}`);
  const withCert = `--cacert ${CLIENT}/ca.crt --cert ${CLIENT}/client.crt --key ${CLIENT}/client.key`;

  test('a certificate without its host address: deploy, preflight and render refuse it before any host is reached', async () => {
    for (const args of [
      ['deploy', bad, '--yes'],
      ['preflight', bad],
      ['render', bad, '--host', 'h102'],
    ]) {
      const r = await tskv(args);
      assert.equal(r.code, 2, `${args[0]}: ${r.stdout}${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(
          `h104: server and peer certificate .*h104-bad\\.crt: the certificate's SANs \\(IP 127\\.0\\.0\\.1, DNS h104\\) do not name h104's address ${lab.host('h104').address.replaceAll('.', '\\.')}`,
        ),
        args[0],
      );
      assert.match(r.stderr, /fix: issue it again with every one of these in its subjectAltName: IP:/);
    }
    for (const h of all()) {
      // Nothing placed, not even tskv's agent: the hosts were never reached.
      const found = await h.exec('ls -d /etc/etcd/pki /var/lib/tskv 2>/dev/null');
      assert.equal(found.stdout.trim(), '', `${h.name} was changed: ${found.stdout}`);
    }
  });

  test("a good set: deployed where tls.mode auto puts its own, the cluster healthy over TLS with the operator's CA", async () => {
    const run = await deploy(good);
    assertDeployed(run);
    assert.doesNotMatch(run.result.stdout + run.result.stderr, /PRIVATE KEY/);
    const file = (name: string) => readFileSync(join(pki, name), 'utf8');
    for (const h of all()) {
      assert.equal(
        (await h.execOk('stat -c "%n %U:%G %a" /etc/etcd/pki/*')).trim(),
        ['ca.crt', 'peer.crt', 'peer.key', 'server.crt', 'server.key']
          .map((f) => `/etc/etcd/pki/${f} root:etcd 640`)
          .join('\n'),
        h.name,
      );
      assert.equal(await h.execOk('cat /etc/etcd/pki/ca.crt'), file('ca.crt'), h.name);
      const peer = h.name === 'docker' ? 'docker-peer' : h.name;
      assert.equal(await h.execOk('cat /etc/etcd/pki/server.crt'), file(`${h.name}.crt`), h.name);
      assert.equal(await h.execOk('cat /etc/etcd/pki/peer.crt'), file(`${peer}.crt`), h.name);
    }
    const status = await tskv(['status', good]);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    for (const h of all()) assert.match(status.stdout, new RegExp(` ${h.name} +started +healthy `), h.name);

    const h102 = lab.host('h102');
    await h102.execOk(`mkdir -p -m 700 ${CLIENT}`);
    for (const name of ['ca.crt', 'client.crt', 'client.key'])
      await h102.execOk(`cat >${CLIENT}/${name}`, { input: file(name) });
    const ok = await curl(h102, `${withCert} https://${lab.host('h104').address}:2379/health`);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).health, 'true');
    const certless = await curl(h102, `--cacert ${CLIENT}/ca.crt https://127.0.0.1:2379/health`);
    assert.notEqual(certless.code, 0, `TLS without a client certificate answered: ${certless.stdout}`);
    const plain = await curl(h102, 'http://127.0.0.1:2379/health');
    assert.notEqual(plain.code, 0, `plain HTTP answered: ${plain.stdout}`);
  });

  test('the same set again: nothing to do; a certificate issued again: placed, and its member alone restarted', async () => {
    const again = await deploy(good);
    assertDeployed(again);
    assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
    const before = await etcdPids(lab);
    issue('h104', 'h104', member(`IP:${lab.host('h104').address},IP:127.0.0.1,DNS:h104`));
    const run = await deploy(good, ['--yes']);
    assertDeployed(run);
    assert.deepEqual(run.doc.restarted, ['h104']);
    const after = await etcdPids(lab);
    assert.notEqual(after['h104'], before['h104']);
    for (const h of ['h102', 'docker']) assert.equal(after[h], before[h], `${h} not restarted`);
    assert.equal(
      await lab.host('h104').execOk('cat /etc/etcd/pki/server.crt'),
      readFileSync(join(pki, 'h104.crt'), 'utf8'),
    );
  });
});

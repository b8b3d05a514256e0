import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { tskv } from './cli.ts';
import {
  assertDeployed,
  CLIENT_CERT_DIR,
  CURL_CLIENT_CERT,
  curlJson,
  deploy,
  etcdPids,
  peerCertShown,
  placeClientCert,
  type V3Member,
} from './deploy-helpers.ts';

const NAME = 'e2e-deploy35';

describe('tskv deploy on the lab (etcd 3.5 tarball)', { skip: labUnavailableReason() ?? false }, () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.up({ name: NAME, fresh: true });
  });
  after(() => Lab.down(NAME));

  test("fresh 3.5 deploy with tskv's default (no tls key: TLS for a new cluster) is healthy with the inventory as member list, and a re-run changes nothing", async () => {
    const tarball = await lab.etcdTarball('3.5');
    const inventory = lab.writeInventory(
      { etcd: { version: tarball.version, source: tarball.path } },
      'inventory-35.yaml',
    );
    const run = await deploy(inventory);
    assertDeployed(run);
    assert.ok(
      run.doc.verify!.members.every((m) => m.version === tarball.version),
      JSON.stringify(run.doc.verify),
    );
    assert.doesNotMatch(run.result.stderr, /plain HTTP/);
    const docker = lab.host('docker');
    await placeClientCert(docker, join(lab.layout.dir, 'inventory.pki'));
    const v2 = await curlJson<{ members: V3Member[] }>(
      docker,
      `${CURL_CLIENT_CERT} https://127.0.0.1:2379/v2/members`,
    );
    assert.deepEqual(v2.members.map((m) => m.name).sort(), ['docker', 'h102', 'h104']);
    for (const m of v2.members) assert.match((m.peerURLs ?? []).join(), /^https:\/\/[^,]+:2380$/, m.name);
    const plain = await docker.exec('curl -sS --max-time 5 http://127.0.0.1:2379/health');
    assert.doesNotMatch(plain.stdout, /"health":"true"/, 'plain HTTP is refused');
    const certless = await docker.exec(
      `curl -sS --max-time 5 --cacert ${CLIENT_CERT_DIR}/ca.crt https://127.0.0.1:2379/health`,
    );
    assert.notEqual(certless.code, 0, `TLS without a client certificate answered: ${certless.stdout}`);
    const h102 = lab.host('h102');
    const shown = await peerCertShown(docker, h102);
    assert.match(shown, /issuer=CN ?= ?tskv etcd CA /);
    assert.match(shown, new RegExp(`IP Address:${h102.address.replaceAll('.', '\\.')}\\b`));
    const health = await tskv(['etcdctl', inventory, '--', 'endpoint', 'health', '--cluster']);
    assert.equal(health.code, 0, health.stdout + health.stderr);
    for (const h of lab.hosts)
      assert.match(health.stdout + health.stderr, new RegExp(`^https://${h.address}:2379 is healthy`, 'm'));
    for (const h of lab.hosts) {
      assert.equal(
        (await h.execOk('ps -o user= -p $(pgrep -x etcd)')).trim(),
        'etcd',
        `${h.name}: 3.5 as etcd`,
      );
      assert.equal(
        (await h.execOk(`stat -c '%U:%G %a' /var/lib/etcd/${h.name}.etcd`)).trim(),
        'etcd:etcd 700',
      );
    }
    const pids = await etcdPids(lab);
    const again = await deploy(inventory);
    assertDeployed(again);
    assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
    assert.deepEqual(await etcdPids(lab), pids);
  });
});

/**
 * A cluster from a tskv before TLS was the default (plain HTTP, no PKI): an inventory that names no
 * tls mode leaves it so and says which line moves it; `tls: { mode: auto }` moves it with two
 * rolling passes under a writer (0 acknowledged writes lost); afterwards plain HTTP is refused, the
 * peers speak TLS, and the inventory without a tls key finds the PKI and keeps TLS.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EtcdCluster } from '../../controller/etcd/index.ts';
import { type EtcdTunnel, openEtcdTunnel } from '../../controller/etcd-tunnel.ts';
import { loadInventory } from '../../controller/inventory/load.ts';
import { openSession, type Session } from '../../controller/plays/session.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { tskv } from './cli.ts';
import { assertDeployed, deploy, etcdPids } from './deploy-helpers.ts';
import { SequentialWriter } from './replace-helpers.ts';
import { killedAt } from './sweep.ts';

const NAME = 'e2e-tls-migrate';

/**
 * A client that reaches each member in whichever scheme it serves at the moment (an http and an
 * https tunnel per host, failing over between them), as an application moving with the cluster
 * would: the writer must not depend on the order tskv moves members in.
 */
async function eitherScheme(inventory: string): Promise<{ cluster: EtcdCluster; close(): Promise<void> }> {
  const session: Session = await openSession(await loadInventory(inventory), 'silent');
  const tunnels: EtcdTunnel[] = [];
  for (const ch of session.hosts.values()) {
    for (const scheme of ['https', 'http'] as const) {
      tunnels.push(openEtcdTunnel(ch.conn, session.inventory, undefined, scheme));
    }
  }
  return {
    cluster: new EtcdCluster(
      tunnels.map((t) => t.endpoint),
      { timeoutMs: 3000 },
    ),
    async close() {
      await Promise.all(tunnels.map((t) => t.close()));
      await session.close({ leaveNoAgent: false });
    },
  };
}

describe('moving a plain-HTTP cluster to TLS', { skip: labUnavailableReason() ?? false }, () => {
  let lab: Lab;
  let off: string;
  let undeclared: string;
  let auto: string;

  before(async () => {
    lab = await Lab.up({ name: NAME, hosts: ['h102', 'docker', 'h104'], fresh: true });
    off = lab.writeInventory({ tls: { mode: 'off' } }, 'inventory-off.yaml');
    // No tls mode: the lab's variants share the PKI folder inventory.pki, which auto below names.
    undeclared = lab.writeInventory({}, 'migrate.yaml');
    auto = lab.writeInventory({ tls: { mode: 'auto', dir: 'inventory.pki' } }, 'migrate-auto.yaml');
  });
  after(() => Lab.down(NAME));

  test('tls.mode off: a plain cluster, and a warning that it is unauthenticated', async () => {
    const run = await deploy(off);
    assertDeployed(run);
    assert.match(run.result.stderr, /tls\.mode off: etcd serves plain HTTP without authentication/);
    const h = lab.host('h102');
    assert.match(await h.execOk('curl -sS --max-time 5 http://127.0.0.1:2379/health'), /"health":"true"/);
  });

  test('no tls key and no PKI: the running plain cluster stays as it is, and the warning names the line', async () => {
    const pids = await etcdPids(lab);
    const run = await deploy(undeclared);
    assertDeployed(run);
    assert.match(run.doc.summary, /^nothing to do/);
    assert.match(
      run.result.stderr,
      /runs plain HTTP without authentication .*add the line 'tls: \{ mode: auto \}'/,
    );
    assert.deepEqual(await etcdPids(lab), pids);
    const status = await tskv(['status', undeclared]);
    assert.match(status.stderr, /add the line 'tls: \{ mode: auto \}'/);
  });

  test('tls.mode auto: two rolling passes under a writer, stopped once between a peer URL update and its restart; nothing acknowledged lost, plain HTTP gone', async () => {
    const client = await eitherScheme(auto);
    const writer = new SequentialWriter(client.cluster, 'migrate', 20);
    let run: Awaited<ReturnType<typeof deploy>>;
    try {
      await writer.acknowledgesMore(20);
      // The worst place to stop: h104's peers dial it over TLS while it still serves plain HTTP.
      await killedAt(['deploy', auto, '--yes', '--json'], { mid: 'peer-urls@h104', line: 'peer URL moved' });
      await writer.acknowledgesMore(5); // two members carry the cluster meanwhile
      run = await deploy(auto, ['--yes']);
      await writer.acknowledgesMore(20); // the cluster takes writes over TLS afterwards
    } finally {
      await writer.stop();
    }
    try {
      assertDeployed(run);
      assert.deepEqual(await writer.lost(), []);
    } finally {
      await client.close();
    }
    // The re-run finished pass 2: h104 (cut off) first, each other member's peer URL moved just before its restart.
    const kinds = run.doc.steps.map((s) => `${s.kind}@${s.host}`);
    assert.equal(
      kinds.find((k) => k.startsWith('restart@')),
      'restart@h104',
      kinds.join(' '),
    );
    assert.ok(!kinds.includes('peer-urls@h104'), 'its peer URL had moved already');
    for (const h of ['h102', 'docker']) {
      if (!kinds.includes(`peer-urls@${h}`)) continue; // moved before the stop
      assert.ok(kinds.indexOf(`peer-urls@${h}`) < kinds.indexOf(`restart@${h}`), kinds.join(' '));
    }
    const pki = join(lab.layout.dir, 'inventory.pki');
    const h102 = lab.host('h102');
    await h102.execOk('mkdir -p -m 700 /root/c');
    for (const f of ['ca.crt', 'client.crt', 'client.key'])
      await h102.execOk(`cat >/root/c/${f}`, { input: readFileSync(join(pki, f), 'utf8') });
    const certs = '--cacert /root/c/ca.crt --cert /root/c/client.crt --key /root/c/client.key';
    const list = JSON.parse(
      await h102.execOk(
        `curl -sS --max-time 5 ${certs} -XPOST https://127.0.0.1:2379/v3/cluster/member/list -d '{}'`,
      ),
    ) as { members: { peerURLs: string[]; clientURLs: string[] }[] };
    assert.equal(list.members.length, 3);
    for (const m of list.members) {
      assert.ok(
        m.peerURLs.every((u) => u.startsWith('https://')),
        JSON.stringify(m),
      );
      assert.ok(
        m.clientURLs.every((u) => u.startsWith('https://')),
        JSON.stringify(m),
      );
    }
    const plain = await h102.exec('curl -sS --max-time 5 http://127.0.0.1:2379/health');
    assert.notEqual(plain.code === 0 && /"health":"true"/.test(plain.stdout), true, 'plain HTTP is refused');
    const again = await deploy(auto);
    assertDeployed(again);
    assert.match(again.doc.summary, /^nothing to do/);
  });

  test('the inventory without a tls key now finds the PKI: TLS, no warning, nothing to do', async () => {
    const run = await deploy(undeclared);
    assertDeployed(run);
    assert.match(run.doc.summary, /^nothing to do/);
    assert.doesNotMatch(run.result.stderr, /plain HTTP/);
    const off2 = await deploy(off);
    assert.equal(off2.result.code, 1);
    assert.equal(off2.doc.error?.code, 'E_TLS_CHANGE');
  });
});

/**
 * The seed's second half, exactly: remove h102 by its ID, bring it back as new-h102 at the same
 * address with ETCD_INITIAL_CLUSTER_STATE="existing", check member list and the key written
 * earlier; then `tskv replace` does the same in one command (new-h102 back to h102), with zero
 * lost writes. On etcd 3.4 on init-less hosts (tskv's supervisor) in plain HTTP, as the blog runs
 * it; and 3.5 on systemd hosts with TLS (tskv's default): there the new member gets its
 * certificates before it starts, and every check of the seed goes over https with the client
 * certificate.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../controller/wait.ts';
import type { EtcdMinor } from '../../lab/etcd-tarball.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import type { LabInit } from '../../lab/names.ts';
import { CLIENT_CERT_DIR, CURL_CLIENT_CERT, curlJson, placeClientCert } from './deploy-helpers.ts';
import {
  assertOk,
  deployedLab,
  type Live,
  names,
  openLive,
  renamedInventory,
  tskv,
} from './replace-helpers.ts';
import { underWriter } from './sweep.ts';

/** etcdctl prints IDs as Go's `%16x`: a leading-zero ID gets a leading space, not a zero. */
const etcdctlId = (hex: string) => hex.padStart(16, ' ');
const ANY_ETCDCTL_ID = '(?=[ 0-9a-f]{16}$) *[0-9a-f]+';

const kinds: { minor: EtcdMinor; init: LabInit; tls: boolean }[] = [
  { minor: '3.4', init: 'none', tls: false },
  { minor: '3.5', init: 'systemd', tls: true },
];
for (const { minor, init, tls } of kinds) {
  const NAME = `e2e-seed${minor.replace('.', '')}`;
  const hostKind = init === 'systemd' ? 'systemd hosts' : 'hosts without an init';
  const scheme = tls ? 'https' : 'http';
  /** curl's and etcdctl's options on a lab host for this cluster's client port. */
  const curlOpts = tls ? `--fail ${CURL_CLIENT_CERT}` : '--fail';
  const etcdctl = tls
    ? `ETCDCTL_API=3 ETCDCTL_ENDPOINTS=https://127.0.0.1:2379 ETCDCTL_CACERT=${CLIENT_CERT_DIR}/ca.crt ETCDCTL_CERT=${CLIENT_CERT_DIR}/client.crt ETCDCTL_KEY=${CLIENT_CERT_DIR}/client.key etcdctl`
    : 'ETCDCTL_API=3 etcdctl';
  describe(`the seed's member replacement (etcd ${minor}, ${hostKind}, ${tls ? 'TLS' : 'plain HTTP'})`, {
    skip: labUnavailableReason() ?? false,
  }, () => {
    let lab: Lab;
    let original: string;
    let renamed: string;
    let live: Live;
    let pki: string;

    before(async () => {
      let three: string;
      // The seed's own flow in plain HTTP, as the blog post runs it; or tskv's default, TLS.
      ({ lab, three } = await deployedLab(NAME, ['h102', 'docker', 'h104'], minor, init, {
        tls: { mode: tls ? 'auto' : 'off' },
      }));
      original = three;
      pki = join(lab.layout.dir, 'inventory.pki');
      if (tls) for (const h of ['h102', 'h104']) await placeClientCert(lab.host(h), pki);
      const tarball = await lab.etcdTarball(minor);
      renamed = renamedInventory(
        lab,
        { etcd: { version: tarball.version, source: tarball.path } },
        'h102',
        'new-h102',
      );
      live = await openLive(original);
    });
    after(async () => {
      await live?.close();
      await Lab.down(NAME);
    });

    test('remove h102 by its ID, add new-h102 at the same address: it starts and reads the key written earlier', async () => {
      const h102 = lab.host('h102');
      const h104 = lab.host('h104');
      // The seed's 简单测试 key, through the v2 API (enable-v2) and v3.
      await h104.execOk(
        `curl -sS ${curlOpts} -XPUT ${scheme}://127.0.0.1:2379/v2/keys/message -d value="Hello world"`,
      );
      await live.live.cluster().put('message', 'Hello v3');
      const id = (await live.members()).find((m) => m.name === 'h102')!.idHex;

      const removed = await tskv(['member', 'remove', renamed, id, '--yes']);
      assertOk(removed, 'member remove');
      assert.match(
        removed.stdout,
        new RegExp(`^Member ${etcdctlId(id)} removed from cluster ${ANY_ETCDCTL_ID}$`, 'm'),
      );
      assert.deepEqual(names(await live.members()), ['docker', 'h104']);
      assert.equal((await h102.exec('pgrep -x etcd')).code, 1, 'etcd stopped on h102');
      assert.match(await h102.execOk('ls -d /var/lib/etcd/h102.etcd.removed-*'), /removed-/);

      // Leftover etcd data where the new member's data dir goes: never moved without asking.
      await h102.execOk('mkdir -p /var/lib/etcd/new-h102.etcd/member/wal');
      const asked = await tskv(['member', 'add', renamed, 'new-h102', '--start']);
      assert.equal(asked.code, 1);
      assert.match(
        asked.stderr,
        /this would move the etcd data in \/var\/lib\/etcd\/new-h102\.etcd aside; refusing without a TTY/,
      );
      assert.deepEqual(names(await live.members()), ['docker', 'h104']);
      const added = await tskv(['member', 'add', renamed, 'new-h102', '--start', '--yes']);
      assertOk(added, 'member add --start');
      assert.match(await h102.execOk('ls -d /var/lib/etcd/new-h102.etcd.removed-*'), /removed-/);
      const peer = `${scheme}://${h102.address}:2380`;
      const cluster = ['docker', 'h104']
        .map((n) => `${n}=${scheme}://${lab.host(n).address}:2380`)
        .concat(`new-h102=${peer}`);
      assert.match(added.stdout, /^ETCD_NAME="new-h102"$/m);
      const initial = /^ETCD_INITIAL_CLUSTER="(.*)"$/m.exec(added.stdout)?.[1]?.split(',').sort();
      assert.deepEqual(initial, cluster.sort());
      assert.match(added.stdout, /^ETCD_INITIAL_CLUSTER_STATE="existing"$/m);

      const list = await tskv(['member', 'list', renamed]);
      assertOk(list, 'member list');
      const members = await live.members();
      // etcdctl's simple output, a line per member in etcd's order: the ID as Go's %x (unpadded,
      // unlike the %16x of member add and remove), "started" once the member has published its
      // name, peer URLs, client URLs, is-learner.
      const addresses: Record<string, string> = {
        docker: lab.host('docker').address,
        h104: h104.address,
        'new-h102': h102.address,
      };
      assert.deepEqual(names(members), Object.keys(addresses).sort());
      const expected = members.map((m) => {
        const address = addresses[m.name];
        return `${BigInt(m.id).toString(16)}, started, ${m.name}, ${scheme}://${address}:2380, ${scheme}://${address}:2379, false\n`;
      });
      assert.equal(list.stdout, expected.join(''));
      assert.equal(list.stdout, await h102.execOk(`${etcdctl} member list`), 'as etcdctl prints it');
      const fresh = members.find((m) => m.name === 'new-h102');
      assert.ok(fresh?.started && !fresh.isLearner, list.stdout);
      assert.deepEqual(fresh.peerURLs, [peer]);
      assert.match(
        added.stdout,
        new RegExp(`^Member ${etcdctlId(fresh.idHex)} added to cluster ${ANY_ETCDCTL_ID}$`, 'm'),
      );

      // The seed's last check, on new-h102 itself: curl http://127.0.0.1:2379/v2/keys/message
      const v2 = await curlJson<{ node: { value: string } }>(
        h102,
        `${curlOpts} ${scheme}://127.0.0.1:2379/v2/keys/message`,
      );
      assert.equal(v2.node.value, 'Hello world');
      assert.equal((await h102.execOk(`${etcdctl} get message --print-value-only`)).trim(), 'Hello v3');
      if (tls) {
        // new-h102 got certificates of its own, issued for its name and address, before it started.
        const placed = /place its TLS certificates[^\n]*\n(?:.*\n)*?.*start etcd/.exec(added.stdout);
        assert.ok(placed, added.stdout);
        assert.ok(existsSync(join(pki, 'members', 'new-h102', 'server.crt')), 'new-h102 issued');
        const san = await h102.execOk('openssl x509 -in /etc/etcd/pki/peer.crt -noout -ext subjectAltName');
        assert.match(san, new RegExp(`IP Address:${h102.address.replaceAll('.', '\\.')}\\b`));
        assert.match(san, /DNS:new-h102\b/);
        // and plain HTTP is still refused by the new member.
        assert.notEqual((await h102.exec('curl -sS --max-time 5 http://127.0.0.1:2379/health')).code, 0);
      }
      const status = await tskv(['status', renamed]);
      assert.equal(status.code, 0, status.stdout + status.stderr);
    });

    test('tskv replace in place (new-h102 back to h102) in one command, with zero lost writes', async () => {
      // deploy does not guess: it refuses and names the command that reconciles inventory and cluster.
      const refused = await tskv(['deploy', original, '--dry-run']);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stdout + refused.stderr, new RegExp(`tskv replace ${original} new-h102=h102`));
      const {
        result: r,
        ms,
        writer,
        monitor,
      } = await underWriter(live.live.cluster(3000), `zero-lost/in-place-${minor}`, original, () =>
        tskv(['replace', original, 'new-h102=h102', '--yes']),
      );
      assertOk(r, 'replace new-h102=h102');
      assert.match(r.stdout, /^replace new-h102 with h102 in place \(same address\):/m);
      assert.match(r.stdout, /^the inventory and the cluster agree$/m);
      // Seen as an operator's next command sees it: new connections and tunnels. (This test's own
      // tunnel to h102 predates the replacement; a tunnel kept across a member's restart can stall:
      // see the closing note.)
      const fresh = await openLive(original);
      let view = await fresh.live.view();
      const allHealthy = (v: typeof view) => v.probes.every((p) => p.health.healthy && p.member.started);
      try {
        if (!allHealthy(view)) {
          await waitFor(
            async () => {
              view = await fresh.live.view();
              return allHealthy(view);
            },
            { deadlineMs: 15_000, intervalMs: 250, describe: 'every member healthy' },
          ).catch(() => undefined);
        }
      } finally {
        await fresh.close();
      }
      assert.deepEqual(names(view.members), ['docker', 'h102', 'h104']);
      assert.ok(
        allHealthy(view),
        JSON.stringify(view.probes.map((p) => ({ name: p.member.name, health: p.health }))),
      );
      assert.match(await lab.host('h102').execOk('ls -d /var/lib/etcd/new-h102.etcd.removed-*'), /removed-/);
      const lost = await writer.lost();
      process.stderr.write(
        `# in-place replacement (${minor}): ${ms} ms for the command; ${writer.acknowledged.length} writes acknowledged, ${writer.failedWrites} failed requests, ${writer.failedReads} failed reads, ${lost.length} lost\n`,
      );
      assert.deepEqual(lost, []);
      // Writes acknowledged while the member was out (removed, its replacement not yet healthy).
      assert.ok(
        writer.acknowledgedAt.some((t) => monitor.degradedAt(t)),
        'writes while a member was out',
      );
      const again = await tskv(['replace', original, 'new-h102=h102', '--yes']);
      assertOk(again, 'replace re-run');
      assert.match(again.stdout, /nothing to do/);
      // The peers' env files still name the old --initial-cluster, which etcd ignores once it has
      // data: deploy after a replacement changes nothing and restarts nothing.
      const deployed = await tskv(['deploy', original]);
      assertOk(deployed, 'deploy after the replacement');
      assert.match(deployed.stdout + deployed.stderr, /nothing to do: 3 hosts converged/);
    });
  });
}

/**
 * Host-to-host relays on the lab (issue 16): for three fresh hosts the controller sends about one
 * copy of the agent runtime and of the etcd tarball, the hosts pass them on (verified by sha256),
 * and the output names the relays. A host the others cannot reach off the SSH and etcd ports gets
 * the runtime pushed directly, and the output says why.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AGENT_INSTALL_DIR, TSKV_RUN_DIR, UPLOAD_CACHE_DIR } from '../../agent/api/index.ts';
import { loadAgentBuild } from '../../controller/agent-client/manifest.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { pollUntil } from '../../lab/run.ts';
import { sentBytes } from '../../scripts/bench/link-shape.ts';
import { assertDeployed, deploy } from './deploy-helpers.ts';

const NAME = 'rl-relay';
const HOSTS = ['h1', 'h2', 'h3'];

describe('relays between hosts', { skip: labUnavailableReason() ?? false }, () => {
  let lab: Lab;
  let inventory: string;
  before(async () => {
    lab = await Lab.up({ name: NAME, hosts: HOSTS, fresh: true });
    const tarball = await lab.etcdTarball('3.5');
    inventory = lab.writeInventory(
      { etcd: { version: tarball.version, source: tarball.path } },
      'relay.yaml',
    );
  });
  after(() => Lab.down(NAME));

  test('fresh hosts: the controller sends one copy of runtime and tarball, the hosts relay the rest', async () => {
    const { manifest } = await loadAgentBuild();
    const before = await sentBytes(lab.layout.netns);
    const run = await deploy(inventory);
    const sent = (await sentBytes(lab.layout.netns)) - before;
    assertDeployed(run);
    const runtimePath = `${AGENT_INSTALL_DIR}/${manifest.runtime.file}`;
    let tarballBytes = 0;
    const tarballs = new Set<string>();
    for (const name of HOSTS) {
      const h = lab.host(name);
      const runtime = await h.execOk(`sha256sum ${runtimePath}`);
      assert.equal(runtime.split(' ')[0], manifest.runtime.sha256, `${name}'s runtime`);
      const cache = await h.execOk(`cd ${UPLOAD_CACHE_DIR} && sha256sum etcd-v* && stat -c %s etcd-v*`);
      const [sum, size] = cache.trim().split('\n');
      tarballs.add(sum!);
      tarballBytes = Number(size);
    }
    assert.equal(tarballs.size, 1, `one tarball on every host: ${[...tarballs].join(', ')}`);
    const oneCopy = manifest.runtime.compressed.size + manifest.code.compressed.size + tarballBytes;
    const copies = sent / oneCopy;
    process.stderr.write(
      `controller sent ${(sent / 1e6).toFixed(1)} MB for one copy of ${(oneCopy / 1e6).toFixed(1)} MB (${copies.toFixed(2)}x)\n`,
    );
    assert.ok(copies < 1.6, `the controller sent ${copies.toFixed(2)} copies`);
    const transfers = Object.values(run.doc.arrivals).flat();
    const relayed = transfers.filter((t) => /^runtime from h\d \(relay\)$/.test(t));
    assert.equal(relayed.length, 2, JSON.stringify(run.doc.arrivals));
    const tarballRelays = Object.values(run.doc.actions)
      .flat()
      .filter((a) => /^etcd-v[^ ]+ from h\d \(relay\)$/.test(a));
    assert.equal(tarballRelays.length, 2, JSON.stringify(run.doc.actions));
    assert.ok(!transfers.some((t) => t.startsWith('note:')), JSON.stringify(run.doc.arrivals));
    // The senders ran firewalld: their offers' rules (source <receiver>, an ephemeral port) go once
    // the answer is out (at the latest at the offer's 120 s timeout).
    for (const name of HOSTS) {
      const h = lab.host(name);
      assert.equal((await h.execOk('firewall-cmd --state')).trim(), 'running');
      await pollUntil(
        `${name}'s relay rules to go`,
        async () => {
          const rules = await h.execOk('firewall-cmd --list-rich-rules');
          return /port port="(?!2379"|2380")\d+"/.test(rules) ? undefined : true;
        },
        { timeoutMs: 10_000, intervalMs: 500 },
      );
    }
  });

  test('a host the others cannot reach gets the runtime directly, and the output says why', async () => {
    const h3 = lab.host('h3');
    const others = HOSTS.filter((h) => h !== 'h3').map((h) => lab.host(h).address);
    // h3 and the others reach each other on SSH and etcd's ports only (etcd keeps running).
    const open = '{ 22, 2379, 2380 }';
    await h3.execOk(
      [
        'nft add table inet rl_block',
        `nft add chain inet rl_block in '{ type filter hook input priority -10; }'`,
        `nft add chain inet rl_block out '{ type filter hook output priority -10; }'`,
        `nft add rule inet rl_block in ct state established,related accept`,
        `nft add rule inet rl_block out ct state established,related accept`,
        `nft add rule inet rl_block in ip saddr '{ ${others.join(', ')} }' tcp dport != '${open}' drop`,
        `nft add rule inet rl_block out ip daddr '{ ${others.join(', ')} }' tcp dport != '${open}' drop`,
      ].join(' && '),
    );
    // h3 loses its runtime and its agent's socket: the next command must install the runtime anew.
    await h3.execOk(`rm -f ${AGENT_INSTALL_DIR}/node-* ${TSKV_RUN_DIR}/agent-*/agent.sock`);
    try {
      const run = await deploy(inventory);
      assertDeployed(run);
      const h3Lines = run.doc.arrivals['h3'] ?? [];
      assert.ok(
        h3Lines.some((t) =>
          /^note: runtime pushed directly: the relay from h[12] failed \(curl: .+\)$/.test(t),
        ),
        JSON.stringify(run.doc.arrivals),
      );
      assert.ok(
        h3Lines.some((t) => /^runtime \+ code pushed|^runtime pushed/.test(t)),
        h3Lines.join('\n'),
      );
      const { manifest } = await loadAgentBuild();
      const runtime = await h3.execOk(`sha256sum ${AGENT_INSTALL_DIR}/${manifest.runtime.file}`);
      assert.equal(runtime.split(' ')[0], manifest.runtime.sha256);
    } finally {
      await h3.exec('nft delete table inet rl_block');
    }
  });
});

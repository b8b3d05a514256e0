/**
 * Jump hosts (issue 15): only h102 accepts SSH from the controller; docker and h104 accept it only
 * from h102 (an nft rule inside each of them). Everything goes through `ssh.proxyJump`.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { tskv } from './cli.ts';
import { assertDeployed, deploy } from './deploy-helpers.ts';

const NAME = 'e2e-jump';
const JUMP = 'h102';
const BEHIND = ['docker', 'h104'];

describe('jump hosts on the lab', { skip: labUnavailableReason() ?? false }, () => {
  let lab: Lab;
  let inventory: string;
  let jumpAddress: string;
  before(async () => {
    lab = await Lab.up({ name: NAME, fresh: true });
    jumpAddress = lab.host(JUMP).address;
    // Inside the hosts behind the jump host only: port 22 answers the jump host alone.
    for (const name of BEHIND) {
      await lab
        .host(name)
        .execOk(
          'nft add table inet e2ejump && ' +
            "nft add chain inet e2ejump input '{ type filter hook input priority -10; }' && " +
            `nft add rule inet e2ejump input tcp dport 22 ip saddr != ${jumpAddress} reject with tcp reset`,
        );
    }
    inventory = lab.writeInventory(
      { ssh: { proxyJump: jumpAddress }, hosts: { [JUMP]: { ssh: { proxyJump: 'none' } } } },
      'jump.yaml',
    );
  });
  after(() => Lab.down(NAME));

  /** Without the jump host (the lab's own inventory): the hosts behind it refuse the controller. */
  const assertDirectRefused = async (): Promise<void> => {
    const r = await tskv(['status', lab.inventoryPath]);
    const said = r.stdout + r.stderr;
    for (const name of BEHIND) {
      const address = lab.host(name).address.replaceAll('.', '\\.');
      assert.match(said, new RegExp(`cannot connect to ${address}:22: .*Connection refused`), said);
    }
    assert.doesNotMatch(said, new RegExp(`cannot connect to ${jumpAddress.replaceAll('.', '\\.')}:22`), said);
  };

  test('a direct connection to a host behind the jump host is refused', async () => {
    await assertDirectRefused();
  });

  test('preflight and deploy through the jump host; status says healthy; a second deploy changes nothing', async () => {
    const pre = await tskv(['preflight', inventory]);
    // A fresh lab's firewalld blocks etcd's ports (deploy opens them): every host was reached.
    assert.doesNotMatch(
      pre.stdout + pre.stderr,
      /E_SSH|cannot connect|no SSH session/,
      pre.stdout + pre.stderr,
    );
    const run = await deploy(inventory);
    assertDeployed(run);
    const status = await tskv(['status', inventory]);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    for (const h of lab.hosts)
      assert.match(status.stdout, new RegExp(`^\\S+\\s+${h.name}\\s+started\\s+healthy`, 'm'));
    assert.doesNotMatch(status.stdout, /unreachable/, status.stdout);
    const again = await deploy(inventory);
    assertDeployed(again);
    assert.deepEqual(again.doc.steps, []);
    // The rule still holds after deploy touched the firewall: the jump host really carried it all.
    await assertDirectRefused();
  });

  test('replace in place through the jump host (h104 rebuilt as new-h104 on the same host)', async () => {
    const h104 = lab.host('h104');
    const renamed = lab.writeInventory(
      {
        ssh: { proxyJump: jumpAddress },
        hosts: { [JUMP]: { ssh: { proxyJump: 'none' } }, h104: null, 'new-h104': { address: h104.address } },
      },
      'jump-renamed.yaml',
    );
    const r = await tskv(['replace', renamed, 'h104=new-h104', '--yes'], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const status = await tskv(['status', renamed]);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /^\S+\s+new-h104\s+started\s+healthy/m, status.stdout);
    assert.doesNotMatch(status.stdout, /unreachable/, status.stdout);
  });

  test('a wrong known_hosts entry for the jump host is refused, naming the jump host', async () => {
    const knownHosts = lab.layout.knownHostsPath;
    const lines = readFileSync(knownHosts, 'utf8').split('\n');
    const dockerAddress = lab.host('docker').address;
    const forged = [
      ...lines.filter((l) => l !== '' && !l.startsWith(`${jumpAddress} `)),
      ...lines
        .filter((l) => l.startsWith(`${dockerAddress} `))
        .map((l) => l.replace(dockerAddress, jumpAddress)),
    ];
    const file = join(lab.layout.dir, 'known_hosts.forged');
    writeFileSync(file, `${forged.join('\n')}\n`);
    const bad = lab.writeInventory(
      {
        ssh: { proxyJump: jumpAddress, knownHosts: file },
        hosts: { [JUMP]: { ssh: { proxyJump: 'none' } } },
      },
      'jump-forged.yaml',
    );
    const r = await tskv(['status', bad]);
    assert.notEqual(r.code, 0);
    const said = r.stdout + r.stderr;
    assert.match(
      said,
      new RegExp(
        `jump host ${jumpAddress.replaceAll('.', '\\.')}:22: REMOTE HOST IDENTIFICATION HAS CHANGED`,
      ),
      said,
    );
  });
});

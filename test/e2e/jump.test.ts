/**
 * Jump hosts and ssh_config (issue 15): only h102 accepts SSH from the controller; docker and h104
 * accept it only from h102 (an nft rule inside each of them). The main flow is driven by a
 * `~/.ssh/config` in a temporary HOME, with an inventory of names and addresses only: user, port,
 * identity, known_hosts and a ProxyJump through h102 (an alias with its own Host block) all come
 * from it. The inventory's own `ssh.proxyJump` is checked too.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { type CliOptions, tskv } from './cli.ts';
import { assertDeployed, deploy } from './deploy-helpers.ts';

const NAME = 'e2e-jump';
const JUMP = 'h102';
const BEHIND = ['docker', 'h104'];

describe('jump hosts and ssh_config on the lab', { skip: labUnavailableReason() ?? false }, () => {
  let lab: Lab;
  /** Names and addresses only: everything else comes from HOME's ~/.ssh/config. */
  let inventory: string;
  let jumpAddress: string;
  let home: string;
  let config: string;
  /** tskv as the operator whose HOME holds the ssh_config. */
  const asOperator: CliOptions = { env: {} };
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
    home = mkdtempSync(join(tmpdir(), 'tskv-e2e-home-'));
    const dotSsh = join(home, '.ssh');
    mkdirSync(dotSsh, { mode: 0o700 });
    copyFileSync(lab.layout.keyPath, join(dotSsh, 'lab_key'));
    chmodSync(join(dotSsh, 'lab_key'), 0o600);
    copyFileSync(lab.layout.knownHostsPath, join(dotSsh, 'lab_known_hosts'));
    config = join(dotSsh, 'config');
    // The jump host is the one host the controller reaches (the lab bridge lives in its own
    // network namespace: a proxy command gets there); the others only through it, by its alias.
    writeFileSync(
      config,
      `Host lab-gate ${jumpAddress}
  HostName ${jumpAddress}
  ProxyCommand ${lab.layout.proxyCommand}
Host ${BEHIND.map((n) => lab.host(n).address).join(' ')}
  ProxyJump lab-gate
Host *
  User root
  Port 22
  IdentityFile ~/.ssh/lab_key
  UserKnownHostsFile ~/.ssh/lab_known_hosts
  StrictHostKeyChecking yes
`,
    );
    asOperator.env = { HOME: home, XDG_CACHE_HOME: join(home, '.cache') };
    inventory = lab.writeInventory({ ssh: null }, 'sshcfg.yaml');
    const settings = readFileSync(inventory, 'utf8').replace(/^#.*\n/gm, '');
    assert.doesNotMatch(settings, /ssh:|proxy|identity|known/i, settings);
  });
  after(async () => {
    await Lab.down(NAME);
    if (home) rmSync(home, { recursive: true, force: true });
  });

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

  test('through ~/.ssh/config alone: preflight and deploy via the jump host; status says healthy; a second deploy changes nothing', async () => {
    const shown = await tskv(['ssh-config', inventory, '--host', 'docker'], asOperator);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`proxyJump +lab-gate +ssh_config ${config}:5`), shown.stdout);
    assert.match(
      shown.stdout,
      new RegExp(
        `via jump host lab-gate:22 \\(lab-gate\\)\\n +host +${jumpAddress.replaceAll('.', '\\.')} +ssh_config ${config}:2`,
      ),
      shown.stdout,
    );
    const pre = await tskv(['preflight', inventory], asOperator);
    // A fresh lab's firewalld blocks etcd's ports (deploy opens them): every host was reached.
    assert.doesNotMatch(
      pre.stdout + pre.stderr,
      /E_SSH|E_HOST_KEY|cannot connect|no SSH session/,
      pre.stdout + pre.stderr,
    );
    const run = await deploy(inventory, [], asOperator);
    assertDeployed(run);
    const status = await tskv(['status', inventory], asOperator);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    for (const h of lab.hosts)
      assert.match(status.stdout, new RegExp(`^\\S+\\s+${h.name}\\s+started\\s+healthy`, 'm'));
    assert.doesNotMatch(status.stdout, /unreachable/, status.stdout);
    const again = await deploy(inventory, [], asOperator);
    assertDeployed(again);
    assert.deepEqual(again.doc.steps, []);
    // The rule still holds after deploy touched the firewall: the jump host really carried it all.
    await assertDirectRefused();
  });

  test("the inventory's own ssh.proxyJump reaches the same hosts (status)", async () => {
    const viaInventory = lab.writeInventory(
      { ssh: { proxyJump: jumpAddress }, hosts: { [JUMP]: { ssh: { proxyJump: 'none' } } } },
      'jump.yaml',
    );
    const status = await tskv(['status', viaInventory]);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    for (const h of lab.hosts)
      assert.match(status.stdout, new RegExp(`^\\S+\\s+${h.name}\\s+started\\s+healthy`, 'm'));
  });

  test('replace in place through ~/.ssh/config and the jump host (h104 rebuilt as new-h104 on the same host)', async () => {
    const h104 = lab.host('h104');
    const renamed = lab.writeInventory(
      { ssh: null, hosts: { h104: null, 'new-h104': { address: h104.address } } },
      'sshcfg-renamed.yaml',
    );
    const r = await tskv(['replace', renamed, 'h104=new-h104', '--yes'], {
      ...asOperator,
      timeoutMs: 300_000,
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const status = await tskv(['status', renamed], asOperator);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /^\S+\s+new-h104\s+started\s+healthy/m, status.stdout);
    assert.doesNotMatch(status.stdout, /unreachable/, status.stdout);
  });

  test('a wrong known_hosts entry for the jump host is refused, naming the jump host and the ssh_config line of the ProxyJump', async () => {
    const lines = readFileSync(lab.layout.knownHostsPath, 'utf8').split('\n');
    const dockerAddress = lab.host('docker').address;
    const forged = [
      ...lines.filter((l) => l !== '' && !l.startsWith(`${jumpAddress} `)),
      ...lines
        .filter((l) => l.startsWith(`${dockerAddress} `))
        .map((l) => l.replace(dockerAddress, jumpAddress)),
    ];
    writeFileSync(join(home, '.ssh', 'forged_known_hosts'), `${forged.join('\n')}\n`);
    // The jump host's own block names the forged file (first value wins over Host *).
    const forgedConfig = join(home, '.ssh', 'config-forged');
    writeFileSync(
      forgedConfig,
      readFileSync(config, 'utf8').replace(
        `  HostName ${jumpAddress}\n`,
        `  HostName ${jumpAddress}\n  UserKnownHostsFile ~/.ssh/forged_known_hosts\n`,
      ),
    );
    const bad = join(lab.layout.dir, 'sshcfg-forged.yaml');
    writeFileSync(bad, `${readFileSync(inventory, 'utf8')}ssh:\n  configFile: ${forgedConfig}\n`);
    const r = await tskv(['status', bad], asOperator);
    assert.notEqual(r.code, 0);
    const said = r.stdout + r.stderr;
    assert.match(
      said,
      new RegExp(
        `jump host lab-gate:22: REMOTE HOST IDENTIFICATION HAS CHANGED[^\\n]*\\(ProxyJump lab-gate from ssh_config ${forgedConfig}:6\\)`,
      ),
      said,
    );
  });
});

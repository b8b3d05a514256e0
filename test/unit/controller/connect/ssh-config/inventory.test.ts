/** ssh_config in the inventory: precedence, aliases, `configFile: none`, and bad configs named by file:line. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sshConfigFor } from '../../../../../controller/connect/ssh-config/effective.ts';
import { InputError } from '../../../../../controller/errors.ts';
import { parseInventory } from '../../../../../controller/inventory/load.ts';

const dir = mkdtempSync(join(tmpdir(), 'tskv-sshcfg-inv-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const ctx = { home: dir, localUser: userInfo().username };

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const CONFIG = file(
  'config',
  `Host bastion
  HostName 192.0.2.1
  User jumper
Host etcd-*
  User ops
  Port 2222
  IdentityFile ${dir}/id_%h
  UserKnownHostsFile %d/kh
  ProxyJump jumper@bastion:22
  StrictHostKeyChecking accept-new
  ConnectTimeout 4
  ServerAliveInterval 9
Host etcd-a
  HostName 10.0.0.1
  HostKeyAlias etcd-a-key
`,
);

function inventory(ssh: string, hosts: string): string {
  return `cluster: { token: t }
etcd: { version: 3.5.17 }
ssh: { configFile: ${CONFIG}${ssh} }
hosts:
${hosts}`;
}

describe('ssh_config merged into the inventory', () => {
  test('an alias takes user, port, identity, known_hosts, ProxyJump, HostName from ssh_config', () => {
    const inv = parseInventory(
      inventory('', '  a: { address: 10.0.0.1, ssh: { host: etcd-a } }\n'),
      join(dir, 'inv.yaml'),
    );
    const ssh = inv.hosts[0]!.ssh;
    assert.equal(ssh.user, 'ops');
    assert.equal(ssh.port, 2222);
    assert.equal(ssh.identityFile, join(dir, 'id_10.0.0.1'));
    assert.equal(ssh.knownHosts, join(homedir(), 'kh'));
    assert.equal(ssh.hostKeyPolicy, 'accept-new');
    assert.equal(ssh.connectTimeoutMs, 4000);
    assert.equal(ssh.proxyJump, 'jumper@bastion:22');
    assert.equal(ssh.hostKeyAlias, 'etcd-a-key');
    assert.equal(ssh.keepaliveIntervalMs, 9000);
    assert.equal(ssh.hostName, undefined, 'HostName equal to the address is not repeated');
    assert.equal(ssh.sources?.['user'], `ssh_config ${CONFIG}:5`);
    assert.equal(ssh.sources?.['proxyJump'], `ssh_config ${CONFIG}:9`);
  });

  test('precedence: per-host ssh > inventory ssh > ssh_config > defaults', () => {
    const inv = parseInventory(
      inventory(
        ', user: invuser',
        '  a: { address: 10.0.0.9, ssh: { host: etcd-b, port: 2200 } }\n  b: { address: 10.0.0.8 }\n',
      ),
      join(dir, 'inv.yaml'),
    );
    const [a, b] = inv.hosts;
    assert.equal(a!.ssh.port, 2200);
    assert.match(a!.ssh.sources!['port']!, /^inventory .*inv\.yaml:5$/);
    assert.equal(a!.ssh.user, 'invuser');
    assert.match(a!.ssh.sources!['user']!, /^inventory .*inv\.yaml:3$/);
    assert.equal(a!.ssh.connectTimeoutMs, 4000);
    assert.equal(b!.ssh.port, 22, 'no Host block matches 10.0.0.8');
    assert.equal(b!.ssh.sources!['port'], 'default');
    assert.equal(b!.ssh.proxyJump, undefined);
  });

  test("each jump host is resolved for its own name, as OpenSSH's ProxyJump does: its HostName, identity, known_hosts and proxy command, never the target's", () => {
    const cfg = file(
      'jumps',
      `Host gate
  HostName 192.0.2.7
  User gatekeeper
  IdentityFile ${dir}/gate_key
  UserKnownHostsFile ${dir}/gate_known
  ProxyCommand nc %h %p
Host inner
  HostName 10.1.0.1
  ProxyCommand never-used %h
  ProxyJump never-followed
Host 10.9.*
  User ops
  IdentityFile ${dir}/target_key
  UserKnownHostsFile ${dir}/target_known
  StrictHostKeyChecking accept-new
  ProxyJump gate,admin@inner:2200
`,
    );
    const text = `cluster: { token: t }\netcd: { version: 3.5.17 }\nssh: { configFile: ${cfg} }\nhosts:\n  a: { address: 10.9.0.1 }\n  b: { address: 10.9.0.2, ssh: { connectTimeout: 3 } }\n`;
    const [a, b] = parseInventory(text, join(dir, 'inv.yaml')).hosts;
    assert.equal(a!.ssh.user, 'ops');
    const [gate, inner] = a!.ssh.jumpHosts!;
    assert.equal(gate!.name, 'jump host gate:22');
    assert.equal(gate!.address, 'gate');
    assert.equal(gate!.ssh.hostName, '192.0.2.7');
    assert.equal(gate!.ssh.user, 'gatekeeper');
    assert.equal(gate!.ssh.identityFile, join(dir, 'gate_key'));
    assert.equal(gate!.ssh.knownHosts, join(dir, 'gate_known'));
    assert.equal(gate!.ssh.hostKeyPolicy, 'strict', "the target's accept-new is the target's");
    assert.equal(gate!.ssh.proxyCommand, 'nc %h %p');
    assert.equal(gate!.ssh.sources?.['user'], `ssh_config ${cfg}:3`);
    assert.equal(inner!.name, 'jump host inner:2200');
    assert.equal(inner!.ssh.hostName, '10.1.0.1');
    assert.equal(inner!.ssh.user, 'admin', 'the user the hop names');
    assert.equal(inner!.ssh.port, 2200);
    assert.equal(inner!.ssh.identityFile, undefined, "not the target's key");
    assert.equal(inner!.ssh.knownHosts, join(homedir(), '.ssh', 'known_hosts'));
    assert.equal(inner!.ssh.proxyCommand, undefined, 'reached through gate, not a command');
    assert.equal(inner!.ssh.proxyJump, undefined, "a hop's own ProxyJump is not followed");
    // The inventory outranks ssh_config for the hops too.
    assert.equal(b!.ssh.jumpHosts![0]!.ssh.connectTimeoutMs, 3000);
    assert.equal(gate!.ssh.reachedThrough, undefined);
    assert.equal(inner!.ssh.reachedThrough, 'gate', 'the second hop is reached through the first');
  });

  test("a host's own host key policy and known_hosts stay its own: the jump host it shares is checked with the inventory's", () => {
    const cfg = file('jump-policy', 'Host 10.9.*\n  ProxyJump gate\n');
    const text = `cluster: { token: t }\netcd: { version: 3.5.17 }\nssh: { configFile: ${cfg}, knownHosts: /srv/kh }\nhosts:\n  a: { address: 10.9.0.1, ssh: { hostKeyPolicy: accept-new, knownHosts: /srv/a_kh } }\n`;
    const a = parseInventory(text, join(dir, 'inv.yaml')).hosts[0]!;
    assert.equal(a.ssh.hostKeyPolicy, 'accept-new');
    const gate = a.ssh.jumpHosts![0]!;
    assert.equal(gate.ssh.hostKeyPolicy, 'strict');
    assert.equal(gate.ssh.knownHosts, '/srv/kh');
  });

  test("the first jump host's own ProxyJump is not followed, and a warning names its line", () => {
    const cfg = file('jump-chain', 'Host gate\n  ProxyJump outer\nHost 10.9.*\n  ProxyJump gate\n');
    const text = `cluster: { token: t }\netcd: { version: 3.5.17 }\nssh: { configFile: ${cfg} }\nhosts:\n  a: { address: 10.9.0.1 }\n  b: { address: 10.9.0.2 }\n`;
    const inv = parseInventory(text, join(dir, 'inv.yaml'));
    assert.equal(inv.hosts[0]!.ssh.jumpHosts![0]!.ssh.proxyJump, undefined);
    const said = inv.warnings.filter((w) => w.includes('ProxyJump outer'));
    assert.equal(said.length, 1, inv.warnings.join('\n'));
    assert.match(
      said[0]!,
      new RegExp(`jump host gate: its own ProxyJump outer \\(ssh_config ${cfg}:2\\) is not followed`),
    );
  });

  test("a host the inventory does not list (a leaving member's): the top-level settings and ssh_config for its address, nothing of another host's", () => {
    const inv = parseInventory(
      inventory(', user: invuser', '  a: { address: 10.0.0.1, ssh: { host: etcd-a, port: 2200 } }\n'),
      join(dir, 'inv.yaml'),
    );
    assert.equal(inv.hosts[0]!.ssh.port, 2200);
    const gone = inv.sshOfUnlisted('gone', '10.0.0.77');
    assert.equal(gone.hostName, undefined, "not a's HostName");
    assert.equal(gone.hostKeyAlias, undefined);
    assert.equal(gone.port, 22);
    assert.equal(gone.user, 'invuser');
    assert.equal(gone.proxyJump, undefined);
  });

  test('the HostName of an alias is where SSH goes; the address stays what etcd advertises', () => {
    const inv = parseInventory(
      inventory('', '  a: { address: etcd-a.example, ssh: { host: etcd-a } }\n'),
      join(dir, 'inv.yaml'),
    );
    assert.equal(inv.hosts[0]!.address, 'etcd-a.example');
    assert.equal(inv.hosts[0]!.ssh.hostName, '10.0.0.1');
  });

  test('IdentityAgent: another socket, or none', () => {
    const cfg = file(
      'agent',
      'Host a1\n  IdentityAgent ~/agent.sock\nHost a2\n  IdentityAgent none\nHost a3\n  IdentityAgent SSH_AUTH_SOCK\n',
    );
    const text = `cluster: { token: t }\netcd: { version: 3.5.17 }\nssh: { configFile: ${cfg} }\nhosts:\n  a: { address: a1 }\n  b: { address: a2 }\n  c: { address: a3 }\n`;
    const [a, b, c] = parseInventory(text, join(dir, 'inv.yaml')).hosts;
    assert.equal(a!.ssh.identityAgent, join(homedir(), 'agent.sock'));
    assert.equal(b!.ssh.identityAgent, 'none');
    assert.equal(c!.ssh.identityAgent, undefined);
  });

  test('configFile: none reads nothing', () => {
    const text = `cluster: { token: t }\netcd: { version: 3.5.17 }\nssh: { configFile: none }\nhosts:\n  a: { address: 10.0.0.1, ssh: { host: etcd-a } }\n`;
    const ssh = parseInventory(text, join(dir, 'inv.yaml')).hosts[0]!.ssh;
    assert.equal(ssh.user, 'root');
    assert.equal(ssh.port, 22);
    assert.equal(ssh.proxyJump, undefined);
  });

  test('StrictHostKeyChecking no: policy off, with a warning', () => {
    const cfg = file('nocheck', 'Host *\n  StrictHostKeyChecking no\n');
    const text = `cluster: { token: t }\netcd: { version: 3.5.17 }\nssh: { configFile: ${cfg} }\nhosts:\n  a: { address: 10.0.0.1 }\n`;
    const inv = parseInventory(text, join(dir, 'inv.yaml'));
    assert.equal(inv.hosts[0]!.ssh.hostKeyPolicy, 'off');
    assert.ok(
      inv.warnings.some((w) => /host a: StrictHostKeyChecking no .*nocheck:2.*NOT verified/.test(w)),
      inv.warnings.join('\n'),
    );
  });

  test('a config with a syntax error is an InputError naming file and line', () => {
    const cfg = file('bad', 'Host *\n  User "unclosed\n');
    const text = `cluster: { token: t }\netcd: { version: 3.5.17 }\nssh: { configFile: ${cfg} }\nhosts:\n  a: { address: 10.0.0.1 }\n`;
    assert.throws(
      () => parseInventory(text, join(dir, 'inv.yaml')),
      (err: unknown) =>
        err instanceof InputError && err.message.includes(`${cfg}:2: unterminated quoted string`),
    );
  });
});

describe('ssh_config errors and warnings name file and line', () => {
  test('Include loop', () => {
    const a = join(dir, 'loop-a');
    const b = file('loop-b', `Include ${a}\n`);
    file('loop-a', `User x\nInclude ${b}\n`);
    assert.throws(() => sshConfigFor(a, 'h', ctx), new RegExp(`${b}:1: Include loop`));
  });

  test('a bad Port value', () => {
    const cfg = file('badport', 'Host other\n  Port banana\n');
    assert.throws(() => sshConfigFor(cfg, 'h', ctx), new RegExp(`${cfg}:2: Port must be a number`));
  });

  test('an unknown option is ignored with a warning', () => {
    const cfg = file('unknown', 'Host *\n  Frobnicate yes\n  User u\n');
    const r = sshConfigFor(cfg, 'h', ctx);
    assert.equal(r.user?.value, 'u');
    assert.deepEqual(r.warnings, [`${cfg}:2: warning: unknown option 'frobnicate' ignored`]);
  });

  test('Match exec is not evaluated: a warning, and the block does not apply', () => {
    const cfg = file('matchexec', 'Match exec "true"\n  User viaexec\n');
    const r = sshConfigFor(cfg, 'h', ctx);
    assert.equal(r.user, undefined);
    assert.match(r.warnings[0]!, new RegExp(`${cfg}:1: warning: Match exec is not evaluated`));
  });

  test('Include relative to ~/.ssh', () => {
    const home = mkdtempSync(join(tmpdir(), 'tskv-sshcfg-home-'));
    try {
      const sshDir = join(home, '.ssh');
      mkdirSync(sshDir);
      writeFileSync(join(sshDir, 'extra'), 'User fromextra\n');
      writeFileSync(join(sshDir, 'config'), 'Include extra\n');
      assert.equal(sshConfigFor(join(sshDir, 'config'), 'h', { ...ctx, home }).user?.value, 'fromextra');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('IdentityFile tokens are expanded', () => {
    const cfg = file(
      'tokens',
      'Host h\n  HostName real\n  User ru\n  Port 2022\n  IdentityFile ~/k-%h-%p-%r-%n-%%\n',
    );
    assert.equal(sshConfigFor(cfg, 'h', ctx).identityFiles[0]!.value, join(dir, 'k-real-2022-ru-h-%'));
  });
});

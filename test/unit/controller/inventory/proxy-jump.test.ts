import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hopTarget, jumpHops } from '../../../../controller/connect/jump.ts';
import { parseInventory } from '../../../../controller/inventory/load.ts';
import {
  hopEndpoint,
  parseProxyJump,
  proxyJumpProblem,
} from '../../../../controller/inventory/proxy-jump.ts';

describe('parseProxyJump', () => {
  const ok: [string, { user?: string; host: string; port?: number }[]][] = [
    ['bastion', [{ host: 'bastion' }]],
    ['ops@bastion', [{ user: 'ops', host: 'bastion' }]],
    ['ops@bastion:2222', [{ user: 'ops', host: 'bastion', port: 2222 }]],
    ['10.0.0.5:22', [{ host: '10.0.0.5', port: 22 }]],
    ['[fd00::5]:2200', [{ host: 'fd00::5', port: 2200 }]],
    ['root@[fd00::5]', [{ user: 'root', host: 'fd00::5' }]],
    ['ssh://ops@gw.example.com:22', [{ user: 'ops', host: 'gw.example.com', port: 22 }]],
    [
      'a@one,two:2022,b@three',
      [
        { user: 'a', host: 'one' },
        { host: 'two', port: 2022 },
        { user: 'b', host: 'three' },
      ],
    ],
    ['none', []],
  ];
  for (const [text, want] of ok) {
    test(`accepts ${text}`, () => {
      const full = want.map((h) => ({ user: h.user, host: h.host, port: h.port }));
      assert.deepEqual(parseProxyJump(text), { hops: full });
    });
  }

  const bad: [string, string][] = [
    ['', "'' is empty"],
    ['a,,b', "hop 2 ('') is empty"],
    ['ops@', "'ops@' has no host"],
    ['bastion:0', "'bastion:0' has a bad port '0' (1 to 65535)"],
    ['bastion:ssh', "'bastion:ssh' has a bad port 'ssh' (1 to 65535)"],
    ['fd00::5', "'fd00::5' has an IPv6 address without brackets (write [addr]:port)"],
    ['[fd00::5', "'[fd00::5' has a '[' without ']'"],
    ['[bastion]:22', "'[bastion]:22' has 'bastion' in brackets, not an IPv6 address"],
    ['bad user@h', "'bad user@h' has a bad user name 'bad user' (letters, digits, _ . -)"],
    ['h;rm -rf /', "'h;rm -rf /' has a bad host name 'h;rm -rf /'"],
    ['-oProxyCommand=x', "'-oProxyCommand=x' has a bad host name '-oProxyCommand=x'"],
  ];
  for (const [text, problem] of bad) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      assert.equal(proxyJumpProblem(text), problem);
    });
  }

  test('hopEndpoint brackets IPv6', () => {
    assert.equal(hopEndpoint('fd00::5', 22), '[fd00::5]:22');
    assert.equal(hopEndpoint('10.0.0.5', 2222), '10.0.0.5:2222');
  });
});

const INVENTORY = `
cluster: { token: t1 }
etcd: { version: 3.5.17 }
ssh:
  user: ops
  identityFile: /keys/id
  knownHosts: /keys/known_hosts
  proxyCommand: nc -x socks:1080 %h %p
  proxyJump: "bastion,admin@inner:2222"
hosts:
  h1: { address: 10.0.0.1 }
  h2: { address: 10.0.0.2, ssh: { proxyJump: none } }
  h3: { address: 10.0.0.3, ssh: { proxyJump: "jump3" } }
`;

describe('proxyJump in the inventory and the hops it makes', () => {
  const inv = parseInventory(Buffer.from(INVENTORY), 'inv.yaml');
  const host = (name: string) => inv.hosts.find((h) => h.name === name)!;

  test('inherited, overridden, and none for direct', () => {
    assert.equal(host('h1').ssh.proxyJump, 'bastion,admin@inner:2222');
    assert.equal(host('h2').ssh.proxyJump, undefined);
    assert.equal(host('h3').ssh.proxyJump, 'jump3');
  });

  test("hops take the inventory's user, identity and known_hosts unless they name user and port; only the first uses proxyCommand", () => {
    const h1 = host('h1');
    const hops = jumpHops(h1);
    const first = hopTarget(h1, hops, 0);
    const second = hopTarget(h1, hops, 1);
    assert.equal(first.name, 'jump host bastion:22');
    assert.deepEqual(
      [first.address, first.ssh.user, first.ssh.port, first.ssh.proxyCommand, first.ssh.proxyJump],
      ['bastion', 'ops', 22, 'nc -x socks:1080 %h %p', undefined],
    );
    assert.deepEqual(
      [second.address, second.ssh.user, second.ssh.port, second.ssh.proxyCommand],
      ['inner', 'admin', 2222, undefined],
    );
    for (const hop of [first, second]) {
      assert.equal(hop.ssh.identityFile, '/keys/id');
      assert.equal(hop.ssh.knownHosts, '/keys/known_hosts');
    }
    assert.deepEqual(jumpHops(host('h2')), []);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeFirewallOpen } from '../../../../agent/handlers/firewall-open.ts';
import type { DbusValue } from '../../../../agent/system/dbus.ts';
import { parseNftRuleset } from '../../../../agent/system/nft.ts';
import { planNftOpen } from '../../../../agent/system/nft-open.ts';
import { parseUfwStatus } from '../../../../agent/system/ufw.ts';
import { planUfwOpen } from '../../../../agent/system/ufw-open.ts';
import { fakeBus, noBus } from './fake-bus.ts';
import { fakeRun } from './fake-run.ts';

const ctx = { buildId: 'test' };

describe('firewallOpen with firewalld', () => {
  const host = (runtime: string, permanent: string) =>
    fakeRun({
      'firewall-cmd --get-default-zone': { stdout: 'public\n' },
      'firewall-cmd --list-ports': { stdout: `${runtime}\n` },
      'firewall-cmd --permanent --list-ports': { stdout: `${permanent}\n` },
      'firewall-cmd --zone=public': {},
      'firewall-cmd --permanent --zone=public': {},
    });
  const open = (fake: ReturnType<typeof fakeRun>) =>
    makeFirewallOpen({ detect: async () => ({ backend: 'firewalld' }), run: fake.run, bus: noBus });

  test('closed: runtime and permanent, in the default zone', async () => {
    const fake = host('', '');
    const r = await open(fake)({ ports: [2380, 2379, 2379], restricted: [] }, ctx);
    assert.deepEqual(r, {
      changed: true,
      actions: [
        'open 2379/tcp 2380/tcp in firewalld zone public (runtime)',
        'open 2379/tcp 2380/tcp in firewalld zone public (permanent)',
      ],
    });
    assert.deepEqual(
      fake.calls.filter((c) => c.includes('--add-port')),
      [
        'firewall-cmd --zone=public --add-port=2379/tcp --add-port=2380/tcp',
        'firewall-cmd --permanent --zone=public --add-port=2379/tcp --add-port=2380/tcp',
      ],
    );
  });

  test('runtime open (a range), permanent missing one', async () => {
    const fake = host('2379-2380/tcp 22/tcp', '2379/tcp');
    const r = await open(fake)({ ports: [2379, 2380], restricted: [] }, ctx);
    assert.deepEqual(r.actions, ['open 2380/tcp in firewalld zone public (permanent)']);
  });

  test('already open: no change', async () => {
    const fake = host('2379/tcp 2380/tcp', '2380/tcp 2379/tcp');
    assert.deepEqual(await open(fake)({ ports: [2379, 2380], restricted: [] }, ctx), {
      changed: false,
      actions: [],
    });
  });

  test('firewall-cmd failing: a command error', async () => {
    const fake = fakeRun({ 'firewall-cmd': { code: 252, stderr: 'FirewallD is not running' } });
    await assert.rejects(open(fake)({ ports: [2379], restricted: [] }, ctx), {
      code: 'E_AGENT_COMMAND_FAILED',
      message: /FirewallD is not running/,
    });
  });
});

describe('firewallOpen with firewalld over D-Bus', () => {
  const F = 'org.fedoraproject.FirewallD1';
  const ZONE = '/org/fedoraproject/FirewallD1/config/zone/6';
  const ports = (list: string[]): DbusValue[] => [list.map((p) => [p, 'tcp'])];
  const host = (runtime: string[], permanent: string[], addPort: DbusValue[] | Error = ['public']) =>
    fakeBus({
      [`/org/fedoraproject/FirewallD1 ${F}.getDefaultZone`]: ['public'],
      [`/org/fedoraproject/FirewallD1/config ${F}.config.getZoneByName public`]: [ZONE],
      [`/org/fedoraproject/FirewallD1 ${F}.zone.getPorts public`]: ports(runtime),
      [`${ZONE} ${F}.config.zone.getPorts`]: ports(permanent),
      [`/org/fedoraproject/FirewallD1 ${F}.zone.addPort`]: addPort,
      [`${ZONE} ${F}.config.zone.addPort`]: [],
    });
  const open = (fake: ReturnType<typeof fakeBus>, run = fakeRun({})) =>
    makeFirewallOpen({ detect: async () => ({ backend: 'firewalld' }), run: run.run, bus: fake.bus });

  test('adds the missing runtime and permanent ports without starting firewall-cmd', async () => {
    const fake = host(['2379'], []);
    const run = fakeRun({});
    const r = await open(fake, run)({ ports: [2379, 2380], restricted: [] }, ctx);
    assert.deepEqual(r.actions, [
      'open 2380/tcp in firewalld zone public (runtime)',
      'open 2379/tcp 2380/tcp in firewalld zone public (permanent)',
    ]);
    assert.deepEqual(
      fake.calls.filter((c) => c.includes('addPort')),
      [
        `/org/fedoraproject/FirewallD1 ${F}.zone.addPort public 2380 tcp 0`,
        `${ZONE} ${F}.config.zone.addPort 2379 tcp`,
        `${ZONE} ${F}.config.zone.addPort 2380 tcp`,
      ],
    );
    assert.deepEqual(run.calls, [], 'no command started');
  });

  test('already open: no change, nothing added', async () => {
    const fake = host(['2379', '2380'], ['2380', '2379']);
    assert.deepEqual(await open(fake)({ ports: [2379, 2380], restricted: [] }, ctx), {
      changed: false,
      actions: [],
    });
    assert.equal(fake.calls.filter((c) => c.includes('addPort')).length, 0);
  });

  test("a refused call fails with the method and firewalld's words", async () => {
    const fake = host([], [], new Error('org.fedoraproject.FirewallD1.Exception: INVALID_ZONE: public'));
    await assert.rejects(open(fake)({ ports: [2379], restricted: [] }, ctx), {
      code: 'E_AGENT_COMMAND_FAILED',
      message:
        /D-Bus org\.fedoraproject\.FirewallD1\.zone\.addPort on \/org\/fedoraproject\/FirewallD1 \(string:public string:2379 string:tcp int32:0\) failed: .*INVALID_ZONE: public/,
    });
  });
});

test('firewallOpen without a firewall: no change, said so', async () => {
  const fake = fakeRun({});
  const open = makeFirewallOpen({ detect: async () => ({ backend: 'none' }), run: fake.run });
  assert.deepEqual(await open({ ports: [2379], restricted: [] }, ctx), {
    changed: false,
    actions: ['no host firewall'],
  });
  assert.deepEqual(fake.calls, []);
});

test('ufw: allow the ports it does not let in', () => {
  const status = parseUfwStatus(`Status: active
Default: deny (incoming), allow (outgoing), disabled (routed)

To                         Action      From
--                         ------      ----
22/tcp                     ALLOW IN    Anywhere
2379/tcp                   ALLOW IN    Anywhere
`);
  const plan = planUfwOpen(status, { ports: [2379, 2380], restricted: [] });
  assert.deepEqual(plan.actions, ['ufw allow 2380/tcp']);
  assert.deepEqual(plan.steps, [{ kind: 'command', file: 'ufw', args: ['allow', '2380/tcp'] }]);
});

describe('nftables', () => {
  const ruleset = (policy: string, rules: unknown[] = []) =>
    parseNftRuleset(
      JSON.stringify({
        nftables: [
          { table: { family: 'inet', name: 'filter' } },
          {
            chain: { family: 'inet', table: 'filter', name: 'input', type: 'filter', hook: 'input', policy },
          },
          ...rules,
        ],
      }),
    );
  const conf = { path: '/etc/nftables.conf', text: 'flush ruleset\ntable inet filter {\n}\n', mode: 0o755 };

  test('policy drop: accept first in that chain, persisted through an include', () => {
    const plan = planNftOpen(ruleset('drop'), { ports: [2379, 2380], restricted: [] }, conf);
    assert.deepEqual(plan.actions, [
      'accept 2379/tcp 2380/tcp first in nftables chain inet filter input',
      'persist in /etc/tskv/nftables-etcd.nft, included from /etc/nftables.conf',
    ]);
    assert.deepEqual(plan.steps[0], {
      kind: 'command',
      file: 'nft',
      args: [
        'insert',
        'rule',
        'inet',
        'filter',
        'input',
        'tcp',
        'dport',
        '{ 2379, 2380 }',
        'accept',
        'comment',
        '"tskv etcd"',
      ],
    });
    assert.deepEqual(plan.steps.slice(1), [
      {
        kind: 'write',
        path: '/etc/tskv/nftables-etcd.nft',
        content:
          '# written by tskv: etcd ports\ninsert rule inet filter input tcp dport { 2379, 2380 } accept comment "tskv etcd"\n',
        mode: 0o644,
      },
      {
        kind: 'write',
        path: '/etc/nftables.conf',
        content: `${conf.text}include "/etc/tskv/nftables-etcd.nft"\n`,
        mode: 0o755,
      },
    ]);
  });

  test('policy accept: nothing to do', () => {
    assert.deepEqual(planNftOpen(ruleset('accept'), { ports: [2379], restricted: [] }, conf), {
      actions: [],
      steps: [],
    });
  });

  test('a table the boot configuration does not define: runtime only', () => {
    const plan = planNftOpen(
      ruleset('drop'),
      { ports: [2379], restricted: [] },
      { ...conf, text: 'flush ruleset\n' },
    );
    assert.deepEqual(plan.actions, [
      'accept 2379/tcp first in nftables chain inet filter input',
      '(runtime only: /etc/nftables.conf does not define inet filter)',
    ]);
    assert.equal(plan.steps.length, 1);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { makeFirewallOpen } from '../../../agent/handlers/firewall-open.ts';
import { planNftOpen, planUfwOpen } from '../../../agent/system/firewall-open.ts';
import { parseNftRuleset } from '../../../agent/system/nft.ts';
import { parseUfwStatus } from '../../../agent/system/ufw.ts';
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
    makeFirewallOpen({ detect: async () => ({ backend: 'firewalld' }), run: fake.run });

  test('closed: runtime and permanent, in the default zone', async () => {
    const fake = host('', '');
    const r = await open(fake)({ ports: [2380, 2379, 2379], dryRun: false }, ctx);
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

  test('dry run: planned, nothing added', async () => {
    const fake = host('', '');
    const r = await open(fake)({ ports: [2379], dryRun: true }, ctx);
    assert.equal(r.changed, true);
    assert.equal(fake.calls.filter((c) => c.includes('--add-port')).length, 0);
  });

  test('runtime open (a range), permanent missing one', async () => {
    const fake = host('2379-2380/tcp 22/tcp', '2379/tcp');
    const r = await open(fake)({ ports: [2379, 2380], dryRun: false }, ctx);
    assert.deepEqual(r.actions, ['open 2380/tcp in firewalld zone public (permanent)']);
  });

  test('already open: no change', async () => {
    const fake = host('2379/tcp 2380/tcp', '2380/tcp 2379/tcp');
    assert.deepEqual(await open(fake)({ ports: [2379, 2380], dryRun: false }, ctx), {
      changed: false,
      actions: [],
    });
  });

  test('firewall-cmd failing: a command error', async () => {
    const fake = fakeRun({ 'firewall-cmd': { code: 252, stderr: 'FirewallD is not running' } });
    await assert.rejects(open(fake)({ ports: [2379], dryRun: false }, ctx), {
      code: 'E_AGENT_COMMAND_FAILED',
      message: /FirewallD is not running/,
    });
  });
});

describe('firewallOpen with firewalld over D-Bus', () => {
  const D = 'dbus-send --system --print-reply --dest=org.fedoraproject.FirewallD1';
  const reply = (body: string) => ({
    stdout: `method return time=1 sender=:1.0 -> destination=:1.9 serial=2 reply_serial=2\n${body}\n`,
  });
  const ports = (list: string[]) =>
    reply(
      `   array [\n${list.map((p) => `      struct {\n         string "${p}"\n         string "tcp"\n      }`).join('\n')}\n   ]`,
    );
  const host = (runtime: string[], permanent: string[]) =>
    fakeRun({
      [`${D} /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.getDefaultZone`]:
        reply('   string "public"'),
      [`${D} /org/fedoraproject/FirewallD1/config org.fedoraproject.FirewallD1.config.getZoneByName string:public`]:
        reply('   object path "/org/fedoraproject/FirewallD1/config/zone/6"'),
      [`${D} /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.zone.getPorts string:public`]:
        ports(runtime),
      [`${D} /org/fedoraproject/FirewallD1/config/zone/6 org.fedoraproject.FirewallD1.config.zone.getPorts`]:
        ports(permanent),
      [`${D} /org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.zone.addPort`]:
        reply('   string "public"'),
      [`${D} /org/fedoraproject/FirewallD1/config/zone/6 org.fedoraproject.FirewallD1.config.zone.addPort`]:
        reply(''),
    });
  const open = (fake: ReturnType<typeof fakeRun>) =>
    makeFirewallOpen({ detect: async () => ({ backend: 'firewalld' }), run: fake.run });

  test('adds the missing runtime and permanent ports without starting firewall-cmd', async () => {
    const fake = host(['2379'], []);
    const r = await open(fake)({ ports: [2379, 2380], dryRun: false }, ctx);
    assert.deepEqual(r.actions, [
      'open 2380/tcp in firewalld zone public (runtime)',
      'open 2379/tcp 2380/tcp in firewalld zone public (permanent)',
    ]);
    assert.deepEqual(
      fake.calls.filter((c) => c.includes('addPort')).map((c) => c.slice(D.length + 1)),
      [
        '/org/fedoraproject/FirewallD1 org.fedoraproject.FirewallD1.zone.addPort string:public string:2380 string:tcp int32:0',
        '/org/fedoraproject/FirewallD1/config/zone/6 org.fedoraproject.FirewallD1.config.zone.addPort string:2379 string:tcp',
        '/org/fedoraproject/FirewallD1/config/zone/6 org.fedoraproject.FirewallD1.config.zone.addPort string:2380 string:tcp',
      ],
    );
    assert.equal(fake.calls.filter((c) => c.startsWith('firewall-cmd')).length, 0);
  });

  test('already open: no change, nothing added', async () => {
    const fake = host(['2379', '2380'], ['2380', '2379']);
    assert.deepEqual(await open(fake)({ ports: [2379, 2380], dryRun: false }, ctx), {
      changed: false,
      actions: [],
    });
    assert.equal(fake.calls.filter((c) => c.includes('addPort')).length, 0);
  });
});

test('firewallOpen without a firewall: no change, said so', async () => {
  const fake = fakeRun({});
  const open = makeFirewallOpen({ detect: async () => ({ backend: 'none' }), run: fake.run });
  assert.deepEqual(await open({ ports: [2379], dryRun: false }, ctx), {
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
  const plan = planUfwOpen(status, [2379, 2380]);
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
    const plan = planNftOpen(ruleset('drop'), [2379, 2380], conf);
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
    assert.deepEqual(planNftOpen(ruleset('accept'), [2379], conf), { actions: [], steps: [] });
  });

  test('a table the boot configuration does not define: runtime only', () => {
    const plan = planNftOpen(ruleset('drop'), [2379], { ...conf, text: 'flush ruleset\n' });
    assert.deepEqual(plan.actions, [
      'accept 2379/tcp first in nftables chain inet filter input',
      '(runtime only: /etc/nftables.conf does not define inet filter)',
    ]);
    assert.equal(plan.steps.length, 1);
  });
});

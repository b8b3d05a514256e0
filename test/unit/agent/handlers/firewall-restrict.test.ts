/**
 * Ports let in only from some sources (TLS on): each backend's changes, in the order that never
 * shuts a wanted source out (their rules, then the opening to all, then the sources that left),
 * and nothing the second time. Over a fake bus and fake commands: nothing runs here.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { firewallOpenRequestSchema } from '../../../../agent/api/index.ts';
import { makeFirewallOpen } from '../../../../agent/handlers/firewall-open.ts';
import type { DbusValue } from '../../../../agent/system/dbus.ts';
import { firewalldPortRules, parseZoneListing, sourceRichRule } from '../../../../agent/system/firewalld.ts';
import { parseNftRuleset } from '../../../../agent/system/nft.ts';
import { planNftOpen } from '../../../../agent/system/nft-open.ts';
import { judgeSources } from '../../../../agent/system/source-rules.ts';
import { parseUfwStatus } from '../../../../agent/system/ufw.ts';
import { planUfwOpen } from '../../../../agent/system/ufw-open.ts';
import { fakeBus, noBus } from './fake-bus.ts';
import { fakeRun } from './fake-run.ts';

const ctx = { buildId: 'test' };
const MEMBERS = ['198.18.5.102/32', '198.18.5.103/32', '198.18.5.104/32'];
const peers = { ports: [], restricted: [{ port: 2380, sources: MEMBERS }] };
const rule = (source: string, port = 2380) => sourceRichRule(port, source);
const noSshd = async (ports: number[]) => ports.map((port) => ({ port, commands: [] }));

describe('firewalld over D-Bus: the peer port from the members only', () => {
  const F = 'org.fedoraproject.FirewallD1';
  const ROOT = '/org/fedoraproject/FirewallD1';
  const ZONE = `${ROOT}/config/zone/6`;
  const ports = (list: string[]): DbusValue[] => [list.map((p) => [p, 'tcp'])];
  const host = (
    runtime: { ports: string[]; rules: string[] },
    permanent: { ports: string[]; rules: string[] },
  ) =>
    fakeBus({
      [`${ROOT} ${F}.getDefaultZone`]: ['public'],
      [`${ROOT}/config ${F}.config.getZoneByName public`]: [ZONE],
      [`${ROOT} ${F}.zone.getPorts public`]: ports(runtime.ports),
      [`${ZONE} ${F}.config.zone.getPorts`]: ports(permanent.ports),
      [`${ROOT} ${F}.zone.getRichRules public`]: [runtime.rules],
      [`${ZONE} ${F}.config.zone.getRichRules`]: [permanent.rules],
      [`${ROOT} ${F}.zone.`]: ['public'],
      [`${ZONE} ${F}.config.zone.`]: [],
    });
  const open = (bus: ReturnType<typeof fakeBus>) =>
    makeFirewallOpen({
      detect: async () => ({ backend: 'firewalld' }),
      run: fakeRun({}).run,
      bus: bus.bus,
      listeners: noSshd,
    });
  const changes = (bus: ReturnType<typeof fakeBus>) =>
    bus.calls.filter((c) => /\.(add|remove)(Port|RichRule) /.test(c)).map((c) => c.replace(`${F}.`, ''));

  test('opened to the zone by an older deploy: rules first, then the port closed, then a member that left', async () => {
    const bus = host(
      {
        ports: ['2379', '2380'],
        rules: [
          rule('198.18.5.102/32'),
          'rule family="ipv4" source address="198.18.5.105" port port="2380" protocol="tcp" accept',
        ],
      },
      { ports: ['2379', '2380'], rules: [] },
    );
    const r = await open(bus)(peers, ctx);
    assert.equal(r.changed, true);
    assert.deepEqual(r.actions, [
      'let 2380/tcp in from 198.18.5.103/32, 198.18.5.104/32 in firewalld zone public (runtime)',
      'let 2380/tcp in from 198.18.5.102/32, 198.18.5.103/32, 198.18.5.104/32 in firewalld zone public (permanent)',
      'close 2380/tcp to other sources in firewalld zone public (runtime)',
      'close 2380/tcp to other sources in firewalld zone public (permanent)',
      'remove the 1 rule letting 198.18.5.105/32 in on 2380/tcp in firewalld zone public (runtime)',
    ]);
    assert.deepEqual(changes(bus), [
      `${ROOT} zone.addRichRule public ${rule('198.18.5.103/32')} 0`,
      `${ROOT} zone.addRichRule public ${rule('198.18.5.104/32')} 0`,
      `${ZONE} config.zone.addRichRule ${rule('198.18.5.102/32')}`,
      `${ZONE} config.zone.addRichRule ${rule('198.18.5.103/32')}`,
      `${ZONE} config.zone.addRichRule ${rule('198.18.5.104/32')}`,
      `${ROOT} zone.removePort public 2380 tcp`,
      `${ZONE} config.zone.removePort 2380 tcp`,
      // Removed as firewalld keeps it (without /32), which is how it finds it.
      `${ROOT} zone.removeRichRule public rule family="ipv4" source address="198.18.5.105" port port="2380" protocol="tcp" accept`,
    ]);
  });

  test('the rules in place and no opening to all: nothing changes, nothing is called', async () => {
    const all = MEMBERS.map((m) => rule(m));
    const bus = host({ ports: ['2379'], rules: all }, { ports: ['2379'], rules: [...all].reverse() });
    assert.deepEqual(await open(bus)({ ports: [2379], restricted: peers.restricted }, ctx), {
      changed: false,
      actions: [],
    });
    assert.deepEqual(changes(bus), []);
  });

  test('an IPv6 source gets an ipv6 rule', async () => {
    const bus = host({ ports: [], rules: [] }, { ports: [], rules: [] });
    const r = await open(bus)({ ports: [], restricted: [{ port: 2379, sources: ['fd00::/64'] }] }, ctx);
    assert.match(r.actions[0]!, /let 2379\/tcp in from fd00::\/64/);
    assert.ok(
      changes(bus).includes(
        `${ROOT} zone.addRichRule public rule family="ipv6" source address="fd00::/64" port port="2379" protocol="tcp" accept 0`,
      ),
    );
  });
});

test('firewalld through firewall-cmd: one command per configuration and kind of change', async () => {
  const run = fakeRun({
    'firewall-cmd --get-default-zone': { stdout: 'public\n' },
    'firewall-cmd --list-ports': { stdout: '2380/tcp\n' },
    'firewall-cmd --permanent --list-ports': { stdout: '\n' },
    'firewall-cmd --list-rich-rules': { stdout: '' },
    'firewall-cmd --permanent --list-rich-rules': { stdout: `${MEMBERS.map((m) => rule(m)).join('\n')}\n` },
    'firewall-cmd --zone=public': {},
  });
  const open = makeFirewallOpen({
    detect: async () => ({ backend: 'firewalld' }),
    run: run.run,
    bus: noBus,
    listeners: noSshd,
  });
  const r = await open(peers, ctx);
  assert.deepEqual(r.actions, [
    'let 2380/tcp in from 198.18.5.102/32, 198.18.5.103/32, 198.18.5.104/32 in firewalld zone public (runtime)',
    'close 2380/tcp to other sources in firewalld zone public (runtime)',
  ]);
  assert.deepEqual(
    run.calls.filter((c) => c.startsWith('firewall-cmd --zone')),
    [
      `firewall-cmd --zone=public ${MEMBERS.map((m) => `--add-rich-rule=${rule(m)}`).join(' ')}`,
      'firewall-cmd --zone=public --remove-port=2380/tcp',
    ],
  );
});

describe("the agent's checks", () => {
  test('sources are networks in one spelling, a port appears once, and some port is named', () => {
    const parse = (r: unknown) => firewallOpenRequestSchema.safeParse(r);
    assert.equal(parse(peers).success, true);
    for (const bad of [
      { restricted: [{ port: 2380, sources: ['198.18.5.102" accept'] }] },
      { restricted: [{ port: 2380, sources: ['198.18.5.102'] }] },
      { restricted: [{ port: 2380, sources: [] }] },
      { ports: [2380], restricted: [{ port: 2380, sources: MEMBERS }] },
      {},
    ])
      assert.equal(parse(bad).success, false, JSON.stringify(bad));
  });

  test("SSH's port is never narrowed to some sources: refused before anything is read", async () => {
    const run = fakeRun({});
    const sshdOn2222 = async (ports: number[]) =>
      ports.map((port) => ({ port, commands: port === 2222 ? ['sshd'] : [] }));
    const open = makeFirewallOpen({
      detect: async () => ({ backend: 'firewalld' }),
      run: run.run,
      bus: noBus,
      listeners: sshdOn2222,
    });
    for (const port of [22, 2222]) {
      await assert.rejects(open({ ports: [], restricted: [{ port, sources: MEMBERS }] }, ctx), {
        code: 'E_AGENT_REFUSED',
        message: new RegExp(`port ${port} is SSH's`),
      });
    }
    assert.deepEqual(run.calls, []);
  });
});

describe("firewalld's state of a restricted port", () => {
  const zone = (listing: string) => ({ ...parseZoneListing(listing), servicePorts: new Map() });
  const listing = (ports: string, rules: string[]) =>
    `public\n  target: default\n  services: ssh\n  ports: ${ports}\n  rich rules: \n${rules.map((r) => `\t${r}`).join('\n')}\n`;

  test('every member let in by its rule, nothing else: open, nothing to do', () => {
    const z = zone(
      listing(
        '2379/tcp',
        MEMBERS.map((m) => rule(m)),
      ),
    );
    const state = judgeSources(
      2380,
      MEMBERS,
      'firewalld zone public',
      [firewalldPortRules(z, 2380)],
      [firewalldPortRules(z, 2380)],
    );
    assert.equal(state.open, true);
    assert.equal(state.permanent, true);
    assert.deepEqual(state.sources, { missing: [], openToAll: false, stale: [] });
  });

  test('open to the zone: every member let in, but the opening is to be closed; a range is only reported', () => {
    const z = zone(listing('2380/tcp', []));
    const state = judgeSources(2380, MEMBERS, 'here', [firewalldPortRules(z, 2380)]);
    assert.equal(state.open, true);
    assert.deepEqual(state.sources, { missing: MEMBERS, openToAll: true, stale: [] });
    const ranged = firewalldPortRules(
      zone(
        listing(
          '2000-3000/tcp',
          MEMBERS.map((m) => rule(m)),
        ),
      ),
      2380,
    );
    assert.deepEqual(ranged, {
      openToAll: false,
      sources: MEMBERS,
      wider: 'port 2380/tcp open in zone public',
    });
  });

  test('a member without its rule: not open, and named', () => {
    const z = zone(listing('', [rule(MEMBERS[0]!)]));
    const state = judgeSources(2380, MEMBERS, 'here', [firewalldPortRules(z, 2380)]);
    assert.equal(state.open, false);
    assert.match(state.detail, /no rule for 198\.18\.5\.103\/32, 198\.18\.5\.104\/32/);
  });
});

test('ufw: allow from each source, then delete the allow to all, then the sources that left', () => {
  const ufw = (rules: string[][]) =>
    parseUfwStatus(
      `Status: active\nDefault: deny (incoming), allow (outgoing)\n\nTo  Action  From\n--  ------  ----\n${rules.map((r) => r.join('    ')).join('\n')}\n`,
    );
  const status = ufw([
    ['22/tcp', 'ALLOW IN', 'Anywhere'],
    ['2380/tcp', 'ALLOW IN', 'Anywhere'],
    ['2380/tcp', 'ALLOW IN', '198.18.5.102'],
    ['2380/tcp', 'ALLOW IN', '198.18.5.105'],
    ['2380/tcp (v6)', 'ALLOW IN', 'Anywhere (v6)'],
  ]);
  const plan = planUfwOpen(status, peers);
  assert.deepEqual(plan.actions, [
    'ufw allow from 198.18.5.103/32 to any port 2380 proto tcp',
    'ufw allow from 198.18.5.104/32 to any port 2380 proto tcp',
    'ufw delete allow 2380/tcp',
    'ufw delete allow from 198.18.5.105 to any port 2380 proto tcp',
  ]);
  assert.deepEqual(plan.steps.at(2), { kind: 'command', file: 'ufw', args: ['delete', 'allow', '2380/tcp'] });
  const done = ufw(MEMBERS.map((m) => ['2380/tcp', 'ALLOW IN', m.replace('/32', '')]));
  assert.deepEqual(planUfwOpen(done, peers), { actions: [], steps: [] });
});

describe('nftables: tskv rules with sources, the old ones replaced by handle after the new ones', () => {
  const conf = { path: '/etc/nftables.conf', text: 'table inet filter {\n}\n', mode: 0o755 };
  const chain = {
    family: 'inet',
    table: 'filter',
    name: 'input',
    type: 'filter',
    hook: 'input',
    policy: 'drop',
  };
  const own = (handle: number, expr: unknown[]) => ({
    rule: {
      family: 'inet',
      table: 'filter',
      chain: 'input',
      handle,
      comment: 'tskv etcd',
      expr: [...expr, { accept: null }],
    },
  });
  const dport = (right: unknown) => ({
    match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right },
  });
  const saddr = (right: unknown) => ({
    match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right },
  });
  const ruleset = (...rules: unknown[]) =>
    parseNftRuleset(
      JSON.stringify({ nftables: [{ table: { family: 'inet', name: 'filter' } }, { chain }, ...rules] }),
    );
  const request = {
    ports: [2379],
    restricted: [{ port: 2380, sources: ['198.18.5.102/32', 'fd00::/64'] }],
  };

  test("the older deploy's rule for both ports: new rules first, then it goes", () => {
    const plan = planNftOpen(ruleset(own(7, [dport({ set: [2379, 2380] })])), request, conf);
    assert.deepEqual(plan.actions, [
      'let 2380/tcp in from 198.18.5.102/32, fd00::/64 first in nftables chain inet filter input',
      'close 2380/tcp to other sources in nftables chain inet filter input',
      'persist in /etc/tskv/nftables-etcd.nft, included from /etc/nftables.conf',
    ]);
    const nft = plan.steps.filter((s) => s.kind === 'command').map((s) => s.args.join(' '));
    assert.deepEqual(nft, [
      'insert rule inet filter input ip6 saddr { fd00::/64 } tcp dport { 2380 } accept comment "tskv etcd"',
      'insert rule inet filter input ip saddr { 198.18.5.102/32 } tcp dport { 2380 } accept comment "tskv etcd"',
      'insert rule inet filter input tcp dport { 2379 } accept comment "tskv etcd"',
      'delete rule inet filter input handle 7',
    ]);
  });

  test('the same rules already there: nothing to do', () => {
    const chains = ruleset(
      own(3, [dport(2379)]),
      own(4, [saddr('198.18.5.102'), dport(2380)]),
      own(5, [
        {
          match: {
            op: '==',
            left: { payload: { protocol: 'ip6', field: 'saddr' } },
            right: { prefix: { addr: 'fd00::', len: 64 } },
          },
        },
        dport({ set: [2380] }),
      ]),
    );
    assert.deepEqual(planNftOpen(chains, request, conf), { actions: [], steps: [] });
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseEtcdVersion } from '../../../agent/system/etcd.ts';
import { judgeFirewalldPort, parseServiceXml, parseZoneListing } from '../../../agent/system/firewalld.ts';
import { judgeNftPort, parseNftRuleset } from '../../../agent/system/nft.ts';
import { parseOsRelease } from '../../../agent/system/os-release.ts';
import { decodeAddress, parseProcNetTcp } from '../../../agent/system/proc-net.ts';
import { judgeUfwPort, parseUfwStatus } from '../../../agent/system/ufw.ts';

describe('os-release', () => {
  test('quoted and bare values', () => {
    const text =
      'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n';
    assert.deepEqual(parseOsRelease(text), {
      id: 'debian',
      versionId: '12',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
    });
  });
});

describe('/proc/net/tcp', () => {
  const tcp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:0953 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0',
    '   1: 6664A8C0:0950 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4243 1 0 100 0 0 10 0',
    '   2: 0100007F:0016 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 4244 1 0 100 0 0 10 0',
  ].join('\n');
  test('listening sockets only, addresses in host byte order', () => {
    assert.deepEqual(parseProcNetTcp(tcp, true), [
      { address: '127.0.0.1', port: 2387, family: 'ipv4', inode: 4242 },
      { address: '192.168.100.102', port: 2384, family: 'ipv4', inode: 4243 },
    ]);
  });
  test('IPv6 any, loopback and mapped addresses', () => {
    assert.equal(decodeAddress('00000000000000000000000000000000', true), '::');
    assert.equal(decodeAddress('00000000000000000000000001000000', true), '::1');
    assert.equal(decodeAddress('0000000000000000FFFF00000100007F', true), '::ffff:127.0.0.1');
    assert.equal(decodeAddress('B80D0120000000000000000001000000', true), '2001:db8::1');
  });
});

describe('firewalld', () => {
  const listing = [
    'public (active)',
    '  target: default',
    '  interfaces: eth0',
    '  services: dhcpv6-client etcd-client ssh',
    '  ports: 8000-8010/tcp 9000/udp',
    '  rich rules: ',
    '\trule family="ipv4" source address="10.0.0.0/8" port port="2380" protocol="tcp" accept',
  ].join('\n');
  const zone = {
    ...parseZoneListing(listing),
    servicePorts: new Map([
      ['ssh', [{ from: 22, to: 22, protocol: 'tcp' }]],
      ['etcd-client', parseServiceXml('<service><port protocol="tcp" port="2379"/></service>')],
    ]),
  };
  test('zone listing', () => {
    assert.equal(zone.name, 'public');
    assert.deepEqual(zone.services, ['dhcpv6-client', 'etcd-client', 'ssh']);
    assert.equal(zone.richRules.length, 1);
  });
  test('ports open by port, by service, by a source-limited rich rule, or not at all', () => {
    assert.equal(judgeFirewalldPort(zone, 8005, 'tcp').open, true);
    assert.equal(judgeFirewalldPort(zone, 9000, 'tcp').open, false);
    assert.deepEqual(judgeFirewalldPort(zone, 2379, 'tcp'), {
      open: true,
      detail: 'service etcd-client in zone public',
    });
    assert.equal(judgeFirewalldPort(zone, 2380, 'tcp').open, null);
    assert.deepEqual(judgeFirewalldPort(zone, 2381, 'tcp'), { open: false, detail: 'firewalld zone public' });
  });
  test('a zone with target ACCEPT lets everything in', () => {
    assert.equal(judgeFirewalldPort({ ...zone, target: 'ACCEPT' }, 2381, 'tcp').open, true);
  });
});

describe('ufw', () => {
  const text = [
    'Status: active',
    'Logging: on (low)',
    'Default: deny (incoming), allow (outgoing), disabled (routed)',
    '',
    'To                         Action      From',
    '--                         ------      ----',
    '22/tcp                     ALLOW IN    Anywhere',
    '2379:2380/tcp              ALLOW IN    192.168.100.0/24',
    '2381                       DENY IN     Anywhere',
    '22/tcp (v6)                ALLOW IN    Anywhere (v6)',
  ].join('\n');
  const status = parseUfwStatus(text);
  test('parses state, default policy and rules', () => {
    assert.equal(status.active, true);
    assert.equal(status.defaultIncoming, 'deny');
    assert.equal(status.rules.length, 4);
  });
  test('judges ports', () => {
    assert.equal(judgeUfwPort(status, 22, 'tcp').open, true);
    assert.equal(judgeUfwPort(status, 2380, 'tcp').open, null);
    assert.equal(judgeUfwPort(status, 2381, 'tcp').open, false);
    assert.deepEqual(judgeUfwPort(status, 9999, 'tcp'), {
      open: false,
      detail: 'ufw default incoming policy deny',
    });
  });
});

describe('nftables', () => {
  const ruleset = (policy: string, rules: unknown[][]) =>
    JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6' } },
        { table: { family: 'inet', name: 'filter' } },
        {
          chain: {
            family: 'inet',
            table: 'filter',
            name: 'input',
            type: 'filter',
            hook: 'input',
            prio: 0,
            policy,
          },
        },
        ...rules.map((expr) => ({ rule: { family: 'inet', table: 'filter', chain: 'input', expr } })),
      ],
    });
  const ct = { match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } };
  const dport = (right: unknown) => ({
    match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right },
  });
  const chains = parseNftRuleset(
    ruleset('drop', [
      [ct, { accept: null }],
      [dport({ set: [22, 2379] }), { accept: null }],
      [dport({ range: [8000, 8010] }), { drop: null }],
      [
        { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '10.0.0.1' } },
        dport(2380),
        { accept: null },
      ],
    ]),
  );
  test('port accepted by a set, dropped by policy, source-limited is unknown', () => {
    assert.equal(judgeNftPort(chains, 2379, 'tcp').open, true);
    assert.equal(judgeNftPort(chains, 8005, 'tcp').open, false);
    assert.equal(judgeNftPort(chains, 2380, 'tcp').open, null);
    assert.deepEqual(judgeNftPort(chains, 9999, 'tcp'), {
      open: false,
      detail: 'nftables inet filter chain input: policy drop',
    });
  });
  test('no input chain means nothing is filtered', () => {
    assert.equal(judgeNftPort(parseNftRuleset('{"nftables":[]}'), 2380, 'tcp').open, true);
    assert.equal(judgeNftPort(parseNftRuleset(ruleset('accept', [])), 2380, 'tcp').open, true);
  });
});

describe('etcd --version', () => {
  test('3.4 and 3.5 output', () => {
    assert.equal(
      parseEtcdVersion('etcd Version: 3.4.23\nGit SHA: Not provided\nGo Version: go1.19.8\n'),
      '3.4.23',
    );
    assert.equal(parseEtcdVersion('etcd Version: 3.5.17\nGit SHA: 507c0de\n'), '3.5.17');
    assert.equal(parseEtcdVersion('garbage'), null);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parsePairs } from '../../../../controller/commands/replace.ts';
import { formatStatus } from '../../../../controller/commands/status.ts';
import { planAll } from '../../../../controller/plays/replace.ts';
import type { StatusReport } from '../../../../controller/plays/status.ts';
import { inventory, seedMembers, view } from '../ops/membership-fixtures.ts';

describe('several pairs in one command', () => {
  const inv = inventory(['h102', 'docker', 'h104', 'h105', 'h106']);
  test('each pair is planned against the cluster the previous one leaves', () => {
    const plans = planAll(inv, view(seedMembers()), parsePairs(['h104=h105', 'docker=h106']), undefined);
    assert.deepEqual(
      plans.map((p) => p.kind === 'steps' && [p.oldName, p.pair.new, p.mode]),
      [
        ['h104', 'h105', 'learner'],
        ['docker', 'h106', 'learner'],
      ],
    );
  });
  test('planning stops at the first refusal', () => {
    const plans = planAll(inv, view(seedMembers()), parsePairs(['h999=h105', 'docker=h106']), undefined);
    assert.deepEqual(
      plans.map((p) => p.kind),
      ['refuse'],
    );
  });
  test('OLD=NEW is the only accepted form', () => {
    assert.deepEqual(parsePairs(['h102=new-h102']), [{ old: 'h102', new: 'new-h102' }]);
    assert.throws(() => parsePairs(['h102']), /'h102' is not OLD=NEW/);
    assert.throws(() => parsePairs([]), /missing OLD=NEW/);
  });
});

describe('formatStatus', () => {
  const report: StatusReport = {
    clusterId: 'abc',
    leader: 'h102',
    clusterVersion: '3.5.0',
    members: [
      {
        id: '84099faad6d56427',
        name: 'h102',
        peerURLs: ['http://192.168.100.102:2380'],
        clientURLs: ['http://192.168.100.102:2379'],
        state: 'started',
        host: 'h102',
        healthy: true,
        health: 'healthy',
        leader: true,
        version: '3.4.23',
        dbSize: 20480,
        raftTerm: 2,
        raftIndex: 17,
      },
    ],
    hosts: [
      {
        name: 'h102',
        address: '192.168.100.102',
        reachable: true,
        clockOffsetMs: -12,
        clockErrorMs: 1,
        member: 'h102',
        etcd: 'running (systemd, pid 812, since 2026-12-04T10:40:01Z, 0 restarts)',
        log: [],
        certs: null,
        problem: null,
      },
      {
        name: 'h104',
        address: '192.168.100.104',
        reachable: true,
        clockOffsetMs: 3,
        clockErrorMs: 1,
        member: 'h104',
        etcd: 'stopped (systemd: failed (failed), last exit-code, status 1; 5 restarts)',
        log: ['Dec 04 10:40:02 h104 etcd[90]: invalid value "x" for flag -snapshot-count'],
        certs: null,
        problem: null,
      },
      {
        name: 'h105',
        address: '192.168.100.105',
        reachable: false,
        clockOffsetMs: null,
        clockErrorMs: null,
        member: null,
        etcd: null,
        log: [],
        certs: null,
        problem: 'ssh: connection refused',
      },
    ],
    drift: [
      {
        kind: 'host-not-member',
        host: 'h105',
        message: 'inventory host h105 is not a member',
        fix: 'tskv member add inv.yaml h105 --start',
      },
    ],
    replacing: null,
    quorumLost: null,
    recovering: null,
    error: null,
  };
  test("members, hosts with clock offsets and etcd service, a down member's log, and drift with its fix", () => {
    const text = formatStatus(report);
    assert.match(text, /^cluster abc, leader h102, 1 members, cluster version 3\.5\.0$/m);
    assert.match(
      text,
      /^84099faad6d56427 +h102 +started +healthy +yes +3\.4\.23 +20 kB +2 +17 +http:\/\/192\.168\.100\.102:2380/m,
    );
    assert.match(
      text,
      /^h102 +192\.168\.100\.102 +reachable +-0\.012s ±0\.001s +h102 +running \(systemd, pid 812, since 2026-12-04T10:40:01Z, 0 restarts\)$/m,
    );
    assert.match(
      text,
      /^h105 +192\.168\.100\.105 +unreachable +- +\(not a member\) +- +ssh: connection refused$/m,
    );
    assert.match(
      text,
      /^h104: etcd's last 1 log lines:\n {2}Dec 04 10:40:02 h104 etcd\[90\]: invalid value "x" for flag -snapshot-count$/m,
    );
    assert.match(
      text,
      /inventory host h105 is not a member\n {2}fix: tskv member add inv\.yaml h105 --start/,
    );
    assert.doesNotMatch(text, /CERTIFICATES/, 'no TLS column without TLS');
  });

  test('with TLS: days left of each certificate a host uses; expired or missing ones said so', () => {
    const cert = (role: 'server' | 'peer' | 'ca', daysLeft: number | null) => ({
      role,
      daysLeft,
      notAfter: daysLeft === null ? null : '2027-12-04T10:00:00.000Z',
    });
    const hosts = [
      { ...report.hosts[0]!, certs: [cert('server', 364), cert('peer', 364), cert('ca', 3651)] },
      { ...report.hosts[1]!, certs: [cert('server', -2), cert('peer', null), cert('ca', 3651)] },
      report.hosts[2]!,
    ];
    const text = formatStatus({ ...report, hosts });
    assert.match(text, /^HOST +ADDRESS +SSH +CLOCK OFFSET +MEMBER +ETCD +CERTIFICATES/m);
    assert.match(text, /^h102 .* server 364d, peer 364d, ca 3651d/m);
    assert.match(text, /^h104 .* server EXPIRED, peer missing, ca 3651d/m);
  });
});

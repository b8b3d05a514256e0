import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type {
  FactsResponse,
  FirewallPortState,
  FirewallStateResponse,
  PortsResponse,
} from '../../../../agent/api/index.ts';
import { formatCheck } from '../../../../controller/ops/checks.ts';
import {
  accountChecks,
  clockChecks,
  dataDirChecks,
  firewallChecks,
  hostChecks,
  portChecks,
  reachabilityChecks,
} from '../../../../controller/ops/preflight-checks.ts';
import { facts as baseFacts } from './deploy-fixtures.ts';

/** The deploy planners' healthy-host facts, with whole fields replaced. */
function facts(over: Partial<FactsResponse> = {}): FactsResponse {
  return { ...baseFacts(), ...over };
}

const fwClosed: FirewallStateResponse = {
  backend: 'firewalld',
  state: 'running',
  zone: 'public',
  ports: [
    { port: 2379, protocol: 'tcp', open: true, detail: 'port 2379/tcp in zone public' },
    { port: 2380, protocol: 'tcp', open: false, detail: 'no rule in zone public' },
  ],
};

describe('preflight verdicts', () => {
  test('a healthy host passes os and disk', () => {
    assert.deepEqual(
      hostChecks('h102', facts(), '/var/lib/etcd/h102.etcd').map((c) => c.status),
      ['ok', 'ok'],
    );
  });
  test('the etcd account: missing is fine (deploy makes it), an unusable one fails before anything changes', () => {
    const withAccount = (account: FactsResponse['etcd']['account']) =>
      accountChecks('h102', facts({ etcd: { ...baseFacts().etcd, account } }))[0]!;
    assert.deepEqual(withAccount(null), {
      host: 'h102',
      check: 'account',
      status: 'ok',
      observed: 'no etcd account yet: deploy creates it (system account, no login)',
    });
    assert.equal(withAccount({ uid: 102, gid: 105 }).observed, 'etcd runs as etcd (uid 102)');
    const bad = withAccount({
      uid: 1001,
      gid: 1001,
      problem: 'the etcd account (uid 1001) is not a system account',
    });
    assert.equal(bad.status, 'fail');
    assert.equal(bad.observed, 'the etcd account (uid 1001) is not a system account');
    assert.match(bad.fix ?? '', /remove or fix that account on h102, then re-run/);
  });

  test('low disk fails, unsupported arch fails', () => {
    const low = facts({ disk: { path: '/d', measuredAt: '/', freeBytes: 100 * 1024 ** 2, totalBytes: 1 } });
    assert.equal(hostChecks('h', low, '/d')[1]!.status, 'fail');
    assert.equal(hostChecks('h', facts({ arch: 'ia32' }), '/d')[0]!.status, 'fail');
  });
  test('a closed firewalld port fails with the zone and the fix', () => {
    const [open, closed] = firewallChecks('docker', fwClosed);
    assert.equal(open!.status, 'ok');
    assert.equal(
      formatCheck(closed!),
      'FAIL docker firewall: 2380/tcp blocked (firewalld zone public: no rule in zone public) — fix: tskv deploy opens it, or: firewall-cmd --add-port=2380/tcp && firewall-cmd --permanent --add-port=2380/tcp',
    );
    assert.equal(closed!.fixedByDeploy, true);
  });
  test('open now but not permanently (the seed firewall-cmd without --permanent) warns, for deploy to fix', () => {
    const fw: FirewallStateResponse = {
      ...fwClosed,
      ports: [
        { port: 2380, protocol: 'tcp', open: true, permanent: false, detail: 'port 2380/tcp in zone public' },
      ],
    };
    const [c] = firewallChecks('h104', fw);
    assert.equal(c!.status, 'warn');
    assert.equal(c!.fixedByDeploy, true);
    assert.match(c!.observed, /2380\/tcp open now but not in the permanent configuration/);
  });

  test('TLS narrows the peer port: a member without its rule fails, the port open to all warns, exactly the members passes', () => {
    const members = ['10.0.0.1/32', '10.0.0.2/32'];
    const restricted = (
      over: Partial<FirewallPortState>,
      sources: Partial<NonNullable<FirewallPortState['sources']>>,
    ) =>
      firewallChecks('h', {
        ...fwClosed,
        ports: [
          {
            port: 2380,
            protocol: 'tcp',
            open: true,
            permanent: true,
            detail: 'let in from 2 sources (firewalld zone public)',
            ...over,
            sources: { missing: [], openToAll: false, stale: [], ...sources },
          },
        ],
      })[0]!;
    const exact = restricted({}, {});
    assert.deepEqual(
      [exact.status, exact.observed],
      ['ok', '2380/tcp let in from 2 sources (firewalld zone public)'],
    );
    const lacking = restricted({ open: false }, { missing: [members[1]!] });
    assert.equal(lacking.status, 'fail');
    assert.equal(lacking.fixedByDeploy, true);
    assert.match(lacking.observed, /2380\/tcp does not let in 10\.0\.0\.2\/32 \(firewalld zone public\)/);
    const zoneWide = restricted({}, { missing: members, openToAll: true, stale: ['10.0.0.9/32'] });
    assert.equal(zoneWide.status, 'warn');
    assert.equal(zoneWide.fixedByDeploy, true);
    assert.equal(
      zoneWide.observed,
      '2380/tcp open to the whole zone; also let in from 10.0.0.9/32, not members or client sources (firewalld zone public)',
    );
    const notSaved = restricted({ permanent: false }, { missing: [members[0]!] });
    assert.match(notSaved.observed, /a reload or reboot would shut out 10\.0\.0\.1\/32/);
    const service = restricted({}, { wider: 'service etcd-server in zone public' });
    assert.equal(service.status, 'warn');
    assert.equal(service.fixedByDeploy, undefined, 'deploy leaves a service of the operator alone');
    assert.match(
      service.observed,
      /open to every source through what tskv leaves alone: service etcd-server/,
    );
  });

  test('a port held by another process fails; held by etcd passes', () => {
    const ports: PortsResponse = {
      ports: [
        {
          port: 2379,
          inUse: true,
          listeners: [{ address: '0.0.0.0', family: 'ipv4', pid: 77, command: 'nginx' }],
        },
        {
          port: 2380,
          inUse: true,
          listeners: [{ address: '0.0.0.0', family: 'ipv4', pid: 9, command: 'etcd' }],
        },
      ],
    };
    const f = facts({
      etcd: {
        installed: null,
        running: [{ pid: 9, command: 'etcd', listenPorts: [2380], user: 'etcd' }],
        dataDir: { path: '/d', exists: true, hasData: true, owner: 'etcd:etcd', mode: 0o700 },
        account: null,
      },
    });
    const [a, b] = portChecks('h102', ports, f);
    assert.equal(a!.status, 'fail');
    assert.match(a!.observed, /2379\/tcp in use by nginx \(pid 77\)/);
    assert.equal(b!.status, 'ok');
  });
  test('a port below 1024 fails on a host without systemd (etcd cannot bind it there), passes with systemd', () => {
    const ports = { ports: [{ port: 443, inUse: false, listeners: [] }] };
    const without = facts({ init: { systemd: false, pid1: 'sh' } });
    const [c] = portChecks('h102', ports, without);
    assert.equal(c!.status, 'fail');
    assert.match(c!.observed, /^443\/tcp is below 1024: without systemd etcd runs as etcd/);
    assert.match(c!.fix ?? '', /cluster\.clientPort of 1024 or more/);
    const withSystemd = facts({ init: { systemd: true, pid1: 'systemd' } });
    assert.equal(portChecks('h102', ports, withSystemd)[0]!.status, 'ok');
  });
  test('a blocked hop names the hop and the target firewall', () => {
    const [c] = reachabilityChecks([
      {
        from: 'h102',
        to: 'docker',
        port: 2380,
        result: { host: '10.0.0.3', port: 2380, outcome: 'unreachable', errno: 'EHOSTUNREACH', elapsedMs: 1 },
        targetFirewall: fwClosed,
      },
    ]);
    assert.equal(c!.observed, 'h102 → docker:2380 blocked (firewalld zone public)');
    assert.equal(c!.status, 'fail');
  });
  test('a refused hop without a firewall says refused and the errno', () => {
    const [c] = reachabilityChecks([
      {
        from: 'a',
        to: 'b',
        port: 2379,
        result: { host: 'b', port: 2379, outcome: 'refused', errno: 'ECONNREFUSED', elapsedMs: 1 },
        targetFirewall: { backend: 'none', state: 'none', ports: [] },
      },
    ]);
    assert.equal(c!.observed, 'a → b:2379 refused (ECONNREFUSED)');
  });
  test('clock: the skewed host fails with all offsets printed', () => {
    const cs = clockChecks(
      new Map([
        ['h102', { offsetMs: 1, errorMs: 1 }],
        ['docker', { offsetMs: 0, errorMs: 1 }],
        ['h104', { offsetMs: 4400, errorMs: 1 }],
      ]),
    );
    const bad = cs.filter((c) => c.status !== 'ok');
    assert.equal(bad.length, 1);
    assert.equal(bad[0]!.host, 'h104');
    assert.match(bad[0]!.observed, /largest skew 4\.400s between docker and h104/);
    assert.match(bad[0]!.observed, /h102 \+0\.001s/);
  });
  test('existing data fails only when bootstrapping a new cluster', () => {
    const f = facts({
      etcd: {
        installed: null,
        running: [],
        dataDir: { path: '/var/lib/etcd/x', exists: true, hasData: true, owner: 'etcd:etcd', mode: 0o700 },
        account: null,
      },
    });
    const [fail] = dataDirChecks('h104', f, true);
    assert.equal(fail!.status, 'fail');
    assert.match(fail!.observed, /\/var\/lib\/etcd\/x already holds etcd member data/);
    assert.match(fail!.fix!, /--allow-existing-data/);
    assert.equal(dataDirChecks('h104', f, false)[0]!.status, 'ok');
  });
});

/** The benchmark's pure parts: medians and verdicts, the report, the Ansible inventory. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadInventory } from '../../../../controller/inventory/load.ts';
import { ansibleInventory, sshCommonArgs } from '../../../../scripts/bench/ansible-inventory.ts';
import { lockBench } from '../../../../scripts/bench/bench-lock.ts';
import { ansibleChanges } from '../../../../scripts/bench/deploy-bench.ts';
import { medianPhases, phaseTimes } from '../../../../scripts/bench/phases.ts';
import { type BenchResult, benchDocument, formatReport } from '../../../../scripts/bench/report.ts';
import { checks, speedup, summarize } from '../../../../scripts/bench/stats.ts';

const SEED = resolve(import.meta.dirname, '../../../../inventories/seed.yaml');

describe('summarize', () => {
  test('median of an odd and an even count, min, max, failures', () => {
    assert.deepEqual(summarize([30, 10, 20], 1), {
      samples: [30, 10, 20],
      median: 20,
      min: 10,
      max: 30,
      failures: 1,
    });
    assert.equal(summarize([4, 1, 3, 2])?.median, 2.5);
    assert.equal(summarize([]), undefined);
  });
});

describe('checks', () => {
  const s = (ms: number) => summarize([ms]);
  test('ratios and thresholds give PASS and MISS', () => {
    const verdicts = checks({
      tskvFresh: s(2000),
      ansibleFresh: s(12_000),
      tskvNoop: s(1600),
      ansibleNoop: s(11_000),
      replace: s(9000),
      replaceLostWrites: 1,
    }).map((c) => [c.name, c.measured, c.verdict]);
    assert.deepEqual(verdicts, [
      ['fresh deploy vs Ansible', '6.0x', 'PASS'],
      ['no-op re-run vs Ansible', '6.9x', 'MISS'],
      ['no-op re-run', '1.60 s', 'MISS'],
      ['replace one member', '9.00 s', 'PASS'],
      ['acknowledged writes lost', '1', 'MISS'],
    ]);
  });
  test('a part that did not run is n/a, not a pass', () => {
    const all = checks({ tskvFresh: s(1000) });
    assert.ok(all.every((c) => c.verdict === 'n/a'));
    assert.equal(speedup(s(1000), undefined), undefined);
  });
});

describe('report', () => {
  test('prints medians, ratios, the replacement traffic and verdicts', () => {
    const result: BenchResult = {
      startedAt: '2026-01-01T00:00:00.000Z',
      runs: 3,
      etcdVersion: '3.4.23',
      ansibleVersion: 'ansible-playbook [core 2.14.18]',
      nodeVersion: 'v24.0.0',
      measurements: {
        tskvFresh: summarize([3000, 3200, 2900]),
        ansibleFresh: summarize([18_000, 20_000, 19_000]),
        tskvFreshSystemd: summarize([3800, 4000]),
        replace: summarize([6000], 2),
        replaceLostWrites: 0,
      },
      replaceSamples: [
        {
          ms: 6000,
          lostWrites: 0,
          failedRequests: 1,
          requests: 200,
          acknowledgedWrites: 100,
          longestStallMs: 160,
        },
      ],
      notes: ['replace: not available'],
    };
    const doc = benchDocument(result);
    assert.equal(doc.ratios.fresh?.toFixed(2), '6.33');
    assert.equal(doc.ratios.noop, null);
    const text = formatReport(doc);
    assert.match(text, /^tskv deploy, fresh 3 hosts +3\.00 s +2\.90 s +3\.20 s +3\/3$/m);
    assert.match(text, /^tskv deploy, no-op re-run +- +- +- +0\/3$/m);
    assert.match(text, /^tskv replace h102=h105 +6\.00 s +6\.00 s +6\.00 s +1\/3$/m);
    assert.match(text, /ratios \(Ansible median \/ tskv median\): fresh 6\.3x, no-op -/);
    assert.match(text, /^tskv deploy, fresh 3 systemd hosts +3\.90 s +3\.80 s +4\.00 s +2\/2$/m);
    assert.match(
      text,
      /^ {2}tskv on systemd hosts \(Ansible's on hosts without an init\): fresh 4\.9x, no-op -$/m,
    );
    assert.match(text, /^run 1 +6\.00 s +200 +1 +100 +0 +0\.16 s$/m);
    assert.match(text, /^fresh deploy vs Ansible +>= 5x faster +6\.3x +PASS$/m);
    assert.match(text, /^ {2}- replace: not available$/m);
  });
});

describe('Ansible inventory', () => {
  test('the same hosts, SSH settings and etcd settings as the tskv inventory', async () => {
    const inv = await loadInventory(SEED);
    inv.etcd.source = '/srv/etcd-v3.4.23-linux-amd64.tar.gz';
    inv.tls.mode = 'auto';
    inv.hosts = inv.hosts.map((h) => ({
      ...h,
      ssh: { ...h.ssh, proxyCommand: 'nsenter --net=/x socat STDIO TCP:%h:%p' },
    }));
    const doc = ansibleInventory(inv, '/srv/bench.pki');
    const group = doc.all.children.etcd;
    assert.deepEqual(
      Object.entries(group.hosts).map(([name, h]) => [name, h.ansible_host]),
      inv.hosts.map((h) => [h.name, h.address]),
    );
    assert.equal(group.vars['etcd_version'], inv.etcd.version);
    assert.equal(group.vars['etcd_token'], inv.cluster.token);
    assert.equal(group.vars['etcd_tarball'], '/srv/etcd-v3.4.23-linux-amd64.tar.gz');
    assert.deepEqual(group.vars['etcd_flags'], inv.etcd.flags);
    assert.equal(group.vars['etcd_pki_local'], '/srv/bench.pki');
    const args = sshCommonArgs(inv);
    assert.match(args, /-o ProxyCommand="nsenter --net=\/x socat STDIO TCP:%h:%p"/);
    assert.match(args, new RegExp(`-o UserKnownHostsFile="${inv.hosts[0]!.ssh.knownHosts}"`));
  });
  test('refuses a URL source: the playbook copies a local tarball', async () => {
    const inv = await loadInventory(SEED);
    inv.etcd.source = 'https://example.invalid/etcd.tar.gz';
    inv.tls.mode = 'auto';
    assert.throws(() => ansibleInventory(inv, '/srv/bench.pki'), /local etcd tarball/);
  });
  test('refuses what the playbook does not do: TLS off, client sources', async () => {
    const inv = await loadInventory(SEED);
    inv.etcd.source = '/srv/etcd-v3.4.23-linux-amd64.tar.gz';
    assert.throws(() => ansibleInventory(inv, '/srv/bench.pki'), /tls.mode auto/);
    inv.tls.mode = 'auto';
    inv.cluster.clientSources = ['10.0.0.0/8'];
    assert.throws(() => ansibleInventory(inv, '/srv/bench.pki'), /clientSources/);
  });
});

test("Ansible's changes are summed over the PLAY RECAP", () => {
  const recap = [
    'PLAY RECAP *********',
    'docker : ok=8    changed=0    unreachable=0    failed=0',
    'h102   : ok=10   changed=2    unreachable=0    failed=0',
    'h104   : ok=8    changed=1    unreachable=0    failed=0',
  ].join('\n');
  assert.equal(ansibleChanges(recap), 3);
});

describe('bench lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-lock-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('refuses while a live process holds it, takes over a stale one, releases its own', () => {
    const path = join(dir, 'bench.lock');
    writeFileSync(path, '1\n'); // pid 1 is always alive
    assert.throws(() => lockBench(path, 'bench'), /another benchmark \(pid 1\) is using lab 'bench'/);
    writeFileSync(path, '4194304999\n'); // beyond any pid
    const release = lockBench(path, 'bench');
    assert.equal(readFileSync(path, 'utf8').trim(), String(process.pid));
    release();
    assert.equal(existsSync(path), false);
  });
});

describe('phase times', () => {
  test("from listr2's plain output: a task's ❯ to its ✔, host tasks left out; medians over runs", () => {
    const at = (ms: number, text: string) => ({ ms, text });
    const run = (scale: number) => [
      at(100 * scale, '❯ connect and start agents'),
      at(100 * scale, '❯ h102'),
      at(900 * scale, '✔ h102'),
      at(1000 * scale, '✔ connect and start agents'),
      at(1000 * scale, '❯ preflight'),
      at(1000 * scale, '❯ h102'),
      at(2500 * scale, '✔ h102'),
      at(3000 * scale, '✔ preflight'),
      at(3100 * scale, 'nothing to do: 3 hosts converged'),
    ];
    assert.deepEqual(phaseTimes(run(1), ['h102']), [
      { phase: 'connect and start agents', ms: 900 },
      { phase: 'preflight', ms: 2000 },
    ]);
    const three = [1, 2, 3].map((s) => phaseTimes(run(s), ['h102']));
    assert.deepEqual(medianPhases(three), [
      { phase: 'connect and start agents', ms: 1800 },
      { phase: 'preflight', ms: 4000 },
    ]);
  });
});

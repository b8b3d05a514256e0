/** The link bench's pure parts (issue 16): link rates, tc/ip counters, cgroup and GNU time figures, the report. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deployHosts } from '../../../../scripts/bench/deploy-bench.ts';
import {
  costSummary,
  formatLinkReport,
  growth,
  type LinkCell,
  linkChecks,
  ratio,
} from '../../../../scripts/bench/link-report.ts';
import {
  parseLinkRate,
  parseTxBytes,
  shapedRate,
  shapeLink,
  tbfArgs,
  unshapeLink,
} from '../../../../scripts/bench/link-shape.ts';
import { cgroup2Mount, cpuUsageUsec, parseTimeFile } from '../../../../scripts/bench/usage.ts';

describe('link rates', () => {
  test('kbit, mbit, gbit and none', () => {
    assert.deepEqual(parseLinkRate('20mbit'), { label: '20mbit', bitsPerSecond: 20_000_000 });
    assert.deepEqual(parseLinkRate(' 100Mbit '), { label: '100mbit', bitsPerSecond: 100_000_000 });
    assert.equal(parseLinkRate('1.5gbit').bitsPerSecond, 1_500_000_000);
    assert.equal(parseLinkRate('500kbit').bitsPerSecond, 500_000);
    assert.deepEqual(parseLinkRate('none'), { label: 'unshaped', bitsPerSecond: undefined });
  });

  test('anything else is refused with a plain message', () => {
    for (const bad of ['20', '20mb', 'fast', '', '10kbit', '-5mbit', '20mbit;rm']) {
      assert.throws(() => parseLinkRate(bad), /a link rate is like 20mbit/);
    }
  });

  test("tbf's bucket holds 20 ms of the rate, at least 64 KB", () => {
    assert.deepEqual(tbfArgs(20_000_000), [
      'tbf',
      'rate',
      '20000000bit',
      'burst',
      '65536b',
      'latency',
      '100ms',
    ]);
    assert.equal(tbfArgs(1_000_000_000)[4], '2500000b');
  });

  test('only a lab bridge namespace is ever shaped', async () => {
    for (const ns of ['', 'eth0', 'tskv-bench.h102', 'tskv-a.net; ip link', '../net']) {
      await assert.rejects(shapeLink(ns, parseLinkRate('20mbit')), /refusing to shape/);
      await assert.rejects(unshapeLink(ns), /refusing to shape/);
    }
  });
});

describe('counters', () => {
  test('the root tbf rate from tc -j qdisc show', () => {
    const tbf =
      '[{"kind":"tbf","handle":"8001:","root":true,"refcnt":2,"options":{"rate":2500000,"burst":65535,"lat":100000},"bytes":0,"packets":0}]';
    assert.equal(shapedRate(tbf), 20_000_000);
    assert.equal(
      shapedRate('[{"kind":"noqueue","handle":"0:","root":true,"refcnt":2,"options":{}}]'),
      undefined,
    );
    assert.equal(shapedRate(''), undefined);
    assert.equal(shapedRate('Cannot find device "br0"'), undefined);
  });

  test('transmitted bytes from ip -s -j link show', () => {
    const link =
      '[{"ifindex":2,"ifname":"br0","qdisc":"tbf","stats64":{"rx":{"bytes":0,"packets":0},"tx":{"bytes":152345678,"packets":3}}}]';
    assert.equal(parseTxBytes(link), 152_345_678);
    assert.throws(() => parseTxBytes('[{"ifname":"br0"}]'), /no transmit byte counter/);
    assert.throws(() => parseTxBytes('garbage'), /no transmit byte counter/);
  });

  test('the cgroup2 mount on a hybrid and on a unified machine', () => {
    const hybrid = [
      'tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0',
      'cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0',
      'cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0',
    ].join('\n');
    assert.equal(cgroup2Mount(hybrid), '/sys/fs/cgroup/unified');
    assert.equal(cgroup2Mount('cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n'), '/sys/fs/cgroup');
    assert.equal(cgroup2Mount('cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n'), undefined);
  });

  test("cpu.stat's usage and GNU time's line", () => {
    assert.equal(cpuUsageUsec('usage_usec 131374\nuser_usec 122898\nsystem_usec 8475\n'), 131_374);
    assert.throws(() => cpuUsageUsec('user_usec 1\n'), /no usage_usec/);
    assert.deepEqual(parseTimeFile('tskv-bench-usage maxrss=215040 user=10.52 sys=1.48\n'), {
      maxRssKb: 215_040,
      cpuMs: 12_000,
    });
    // A command that dies of a signal: GNU time writes a line before its figures.
    assert.equal(
      parseTimeFile('Command terminated by signal 9\ntskv-bench-usage maxrss=1 user=0.00 sys=0.01\n')
        .maxRssKb,
      1,
    );
    assert.throws(() => parseTimeFile(''), /GNU time wrote no usage line/);
  });
});

describe('hosts', () => {
  test("the seed's three, then h105 onwards", () => {
    assert.deepEqual(deployHosts(3), ['h102', 'docker', 'h104']);
    assert.deepEqual(deployHosts(5), ['h102', 'docker', 'h104', 'h105', 'h106']);
    assert.equal(deployHosts(7).at(-1), 'h108');
    assert.deepEqual(deployHosts(1), ['h102']);
  });
});

const usage = (sentBytes: number, cpuMs: number, maxRssKb: number) => ({ sentBytes, cpuMs, maxRssKb });

function cell(rate: string, hosts: number, tskvMs: number, ansibleMs: number): LinkCell {
  return {
    rate,
    hosts,
    tskvFresh: costSummary({ samples: [tskvMs], usages: [usage(150e6, 12_000, 200 * 1024)], failures: 0 }),
    tskvNoop: costSummary({ samples: [900], usages: [usage(1e6, 800, 120 * 1024)], failures: 0 }),
    ansibleFresh: costSummary({
      samples: [ansibleMs],
      usages: [usage(50e6, 24_000, 80 * 1024)],
      failures: 0,
    }),
    ansibleNoop: costSummary({ samples: [9000], usages: [usage(2e6, 6_000, 70 * 1024)], failures: 0 }),
  };
}

describe('link report', () => {
  test('each figure is its own median over the successful runs', () => {
    const s = costSummary({
      samples: [30_000, 10_000, 20_000],
      usages: [usage(3, 300, 3000), usage(1, 100, 1000), usage(2, 200, 2000)],
      failures: 1,
    });
    assert.deepEqual(s, {
      okRuns: 3,
      failures: 1,
      wallMs: 20_000,
      sentBytes: 2,
      cpuMs: 200,
      maxRssKb: 2000,
    });
    assert.deepEqual(costSummary({ samples: [], usages: [], failures: 2 }), {
      okRuns: 0,
      failures: 2,
      wallMs: undefined,
      sentBytes: undefined,
      cpuMs: undefined,
      maxRssKb: undefined,
    });
    assert.equal(costSummary({ samples: [], usages: [], failures: 0 }), undefined, 'not run');
    // Unmeasured runs (no usage) still give the wall time.
    assert.equal(costSummary({ samples: [5], usages: [], failures: 0 })?.sentBytes, undefined);
  });

  test('ratios are Ansible over tskv, growth is tskv fresh time per host count', () => {
    assert.equal(ratio(2, 3), 1.5);
    assert.equal(ratio(undefined, 3), undefined);
    assert.equal(ratio(0, 3), undefined);
    const cells = [cell('20mbit', 3, 63_000, 34_000), cell('20mbit', 7, 152_000, 70_000)];
    assert.ok(Math.abs((growth(cells, '20mbit', 3, 7) ?? 0) - 152 / 63 + 1) < 1e-9);
    assert.equal(growth(cells, '100mbit', 3, 7), undefined);
  });

  test("the issue's targets: MISS for the figures it reported, PASS when met, n/a unmeasured", () => {
    const today = linkChecks([cell('20mbit', 3, 63_000, 34_000), cell('20mbit', 7, 152_000, 70_000)]);
    assert.deepEqual(
      today.map((c) => [c.measured, c.verdict]),
      [
        ['0.5x', 'MISS'],
        ['0.5x', 'MISS'],
        ['+141%', 'MISS'],
      ],
    );
    const met = linkChecks([cell('20mbit', 3, 20_000, 34_000), cell('20mbit', 7, 23_000, 70_000)]);
    assert.deepEqual(
      met.map((c) => c.verdict),
      ['PASS', 'PASS', 'PASS'],
    );
    const none = linkChecks([cell('100mbit', 3, 20_000, 34_000)]);
    assert.deepEqual(
      none.map((c) => c.verdict),
      ['n/a', 'n/a', 'n/a'],
    );
  });

  test('the table: a row per tool and kind, a ratio row, growth, targets, notes', () => {
    const failed: LinkCell = {
      ...cell('20mbit', 7, 152_000, 70_000),
      tskvFresh: costSummary({ samples: [], usages: [], failures: 1 }),
      ansibleFresh: undefined,
    };
    const five = cell('20mbit', 5, 94_500, 50_000);
    const text = formatLinkReport([cell('20mbit', 3, 63_000, 34_000), five, failed], 1, ['a note']);
    const lines = text.split('\n');
    const row = (prefix: RegExp) => lines.find((l) => prefix.test(l)) ?? '';
    assert.match(text, /^deploy over the controller's link: median of 1 run\(s\) per row/);
    assert.match(row(/^link\s+hosts\s+deploy\s+tool\s+wall\s+sent\s+CPU\s+peak RSS\s+ok runs$/), /ok runs/);
    assert.match(row(/^20mbit\s+3\s+fresh\s+tskv/), /63\.00 s\s+150\.0 MB\s+12\.00 s\s+200 MiB\s+1\/1$/);
    assert.match(row(/^20mbit\s+3\s+fresh\s+ansible/), /34\.00 s\s+50\.0 MB\s+24\.00 s\s+80 MiB\s+1\/1$/);
    assert.match(row(/^20mbit\s+3\s+fresh\s+ratio/), /0\.5x\s+0\.3x\s+2\.0x\s+0\.4x$/);
    assert.match(row(/^20mbit\s+7\s+fresh\s+tskv/), /-\s+-\s+-\s+-\s+0\/1$/);
    assert.match(row(/^20mbit\s+7\s+fresh\s+ansible/), /-\s+-\s+-\s+-\s+not run$/);
    assert.match(row(/^20mbit\s+7\s+fresh\s+ratio/), /-\s+-\s+-\s+-$/);
    assert.match(row(/^20mbit\s+3\s+no-op\s+tskv/), /0\.90 s/);
    assert.match(text, /\ntskv's fresh deploy time as hosts are added:\n {2}20mbit: 3 -> 5 hosts \+50%\n\n/);
    assert.doesNotMatch(text, /20mbit: 3 -> 7 hosts/, 'no growth without a successful 7-host run');
    assert.match(row(/^fresh deploy vs Ansible, 3 hosts, 20mbit/), />= 1\.5x faster\s+0\.5x\s+MISS$/);
    assert.match(row(/^fresh deploy vs Ansible, 7 hosts, 20mbit/), /not measured\s+n\/a$/);
    assert.match(text, /\nnotes:\n {2}- a note\n$/);
  });
});

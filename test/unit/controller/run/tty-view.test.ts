import assert from 'node:assert/strict';
import { after, afterEach, describe, test } from 'node:test';
import { backgroundLines } from '../../../../controller/run/background.ts';
import { forEachHost, type ProgressStream } from '../../../../controller/run/progress.ts';
import { TransferLog, TransferMeter } from '../../../../controller/run/transfer.ts';
import { until } from '../../../fixtures/wait.ts';
import { FakeTerminal } from './fake-terminal.ts';

/** A promise the test settles. */
function gate() {
  let open!: () => void;
  let fail!: (err: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `h${String(i + 1).padStart(2, '0')}`);

/** Hosts that each say how their transfer goes, then wait for the test to let them finish. */
function hostsAtWork(hosts: string[]) {
  const gates = new Map(hosts.map((h) => [h, gate()]));
  // A failed assertion must not leave the group waiting for ever.
  after(() => {
    for (const g of gates.values()) g.open();
  });
  const started = new Set<string>();
  const work = async (host: string, progress: (line: string) => void) => {
    started.add(host);
    progress(`etcd tarball 3.2/14.0 MB 2.4 MB/s 5 s left (${host})`);
    await gates.get(host)!.promise;
  };
  return { gates, work, started };
}

/** Waits for `n` hosts at work and their lines drawn (two writes to the terminal after). */
async function drawn(term: FakeTerminal, started: Set<string>, n: number) {
  await until(`${n} hosts at work`, () => started.size === n);
  const writes = term.erased.length;
  await until('the view redrawn', () => term.erased.length >= writes + 2);
}

function show(term: FakeTerminal): string {
  return `\n${term.screen().join('\n')}`;
}

/** What the screen shows fits it, and the group's title is on it. */
function assertFits(term: FakeTerminal, title: string) {
  const screen = term.screen();
  assert.ok(!term.wrapped, `no line wider than ${term.columns} columns:${show(term)}`);
  assert.ok(
    screen.some((l) => l.includes(title)),
    `the group's title stays on screen:${show(term)}`,
  );
}

afterEach(() => {
  for (const [host] of backgroundLines.all()) backgroundLines.set(host, undefined);
});

describe('the live view on a TTY', () => {
  test('20 hosts at once, each with a transfer line, fit 80x24: busy hosts as fit, the rest counted, the title never redrawn', async () => {
    const term = new FakeTerminal(24, 80);
    const hosts = names(20);
    const { gates, work, started } = hostsAtWork(hosts);
    backgroundLines.set('h03', 'etcd tarball 1.0/14.0 MB 2.0 MB/s 7 s left');
    const run = forEachHost('preflight', hosts, work, 'tty', 20, term as unknown as ProgressStream);

    await drawn(term, started, 20);
    assertFits(term, 'preflight');
    const screen = term.screen();
    assert.ok(
      screen.some((l) => l.includes('› etcd tarball 3.2/14.0 MB 2.4 MB/s 5 s left (h01)')),
      `a busy host's transfer line is under it:${show(term)}`,
    );
    assert.ok(
      screen.some((l) => l.includes('› h03: etcd tarball 1.0/14.0 MB')),
      `the line of a transfer outside the group is under it:${show(term)}`,
    );
    const shown = hosts.filter((h) => screen.some((l) => new RegExp(`\\b${h}$`).test(l.trim())));
    const more = Number(screen.join('\n').match(/(\d+) more at work/)?.[1]);
    assert.equal(shown.length + more, 20, `each busy host shown or counted:${show(term)}`);
    const titleRow = term.lines.findIndex((l) => l.includes('preflight'));
    const steady = term.erased.length;

    // 12 finish, one fails: a count of those done, the failure named with its host.
    for (const h of hosts.slice(0, 12)) gates.get(h)!.open();
    gates.get('h13')!.fail(new Error('connection refused'));
    await until('12 done and the failure on screen', () =>
      term.screen().some((l) => l.includes('12 done') && !l.includes('preflight')),
    );
    await until('the failure on screen', () =>
      term.screen().some((l) => l.includes('h13: connection refused')),
    );
    assertFits(term, 'preflight');
    for (const h of hosts.slice(13)) {
      assert.ok(
        term.screen().some((l) => l.trim().endsWith(h)),
        `${h}, still at work, is shown once there is room:${show(term)}`,
      );
    }
    // Drawn in place: the title's row is never erased (a frame taller than the screen is redrawn whole).
    assert.ok(
      term.erased.slice(steady).every((rows) => !rows.has(titleRow)),
      'the title is never redrawn while the group runs',
    );

    backgroundLines.set('h03', undefined);
    for (const h of hosts.slice(13)) gates.get(h)!.open();
    const outcomes = await run;
    assert.equal([...outcomes.values()].filter((o) => !o.ok).length, 1);
    // What stays in the scrollback: the title, the count of those done, the failure.
    const end = term.screen().filter((l) => l.trim() !== '');
    assert.ok(end.length <= 23, show(term));
    assert.ok(
      end.some((l) => l.includes('19 done')),
      show(term),
    );
    assert.ok(
      end.some((l) => l.includes('h13: connection refused')),
      show(term),
    );
  });

  test('20 hosts, 10 at a time: the others counted as waiting', async () => {
    const term = new FakeTerminal(24, 80);
    const hosts = names(20);
    const { gates, work, started } = hostsAtWork(hosts);
    const run = forEachHost(
      'connect and start agents',
      hosts,
      work,
      'tty',
      10,
      term as unknown as ProgressStream,
    );
    await drawn(term, started, 10);
    assertFits(term, 'connect and start agents');
    assert.ok(
      term.screen().some((l) => l.includes('10 waiting')),
      show(term),
    );
    for (const h of hosts.slice(0, 10)) gates.get(h)!.open();
    await until('10 done', () => term.screen().some((l) => l.includes('10 done')));
    assertFits(term, 'connect and start agents');
    assert.ok(!term.screen().some((l) => l.includes('waiting')), show(term));
    for (const h of hosts.slice(10)) gates.get(h)!.open();
    await run;
  });

  test('a few hosts are drawn as listr2 draws them, with the tarball moving outside the group under it', async () => {
    const term = new FakeTerminal(24, 80);
    const hosts = names(3);
    const { gates, work } = hostsAtWork(hosts);
    // The tarball push of session.ts: its meter's listener is the run's TransferLog on a TTY.
    const log = new TransferLog('tty');
    let now = 0;
    const meter = new TransferMeter('h02', 'etcd tarball', 14_000_000, log.background('h02'), {
      now: () => now,
    });
    meter.add(0);
    now = 2000;
    meter.add(4_000_000);
    const run = forEachHost('preflight', hosts, work, 'tty', 3, term as unknown as ProgressStream);
    await until('the tarball under the group', () =>
      term.screen().some((l) => l.includes('› h02: etcd tarball 4.0/14.0 MB 2.0 MB/s 5 s left')),
    );
    for (const h of hosts) {
      assert.ok(
        term.screen().some((l) => l.trim().endsWith(h)),
        `${h} has its own line:${show(term)}`,
      );
    }
    assert.ok(!term.screen().some((l) => /done|waiting|more at work/.test(l)), show(term));
    now = 5000;
    meter.add(10_000_000);
    meter.end();
    await until('the line goes once the tarball is there', () => !term.text().includes('h02: etcd tarball'));
    for (const h of hosts) gates.get(h)!.open();
    await run;
    assert.equal(log.records.length, 1);
    assert.ok(!term.text().includes('h02: etcd tarball'), 'the scrollback keeps no live line');
  });

  test('transfers outside the group take at most a quarter of the screen; the rest are counted', async () => {
    const term = new FakeTerminal(24, 80);
    for (const h of names(20)) backgroundLines.set(h, 'etcd tarball 1.0/14.0 MB 0.5 MB/s 26 s left');
    const { gates, work, started } = hostsAtWork(['h01']);
    const run = forEachHost('preflight', ['h01'], work, 'tty', 1, term as unknown as ProgressStream);
    await drawn(term, started, 1);
    const lines = term.screen().filter((l) => /: etcd tarball/.test(l));
    assert.equal(lines.length, 4, show(term));
    assert.ok(
      term.screen().some((l) => l.includes('16 more moving')),
      show(term),
    );
    gates.get('h01')!.open();
    await run;
  });
});

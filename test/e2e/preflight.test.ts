import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CheckResult } from '../../controller/ops/checks.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { tskv, tskvJson } from './cli.ts';

interface PreflightDoc {
  ok: boolean;
  checks: CheckResult[];
  agents: Record<string, { uploaded: boolean }>;
}

const NAME = 'e2e-pre';
const AGENT = 'tskv-agen[t]-[0-9a-f]* serve'; // /var/lib/tskv/agent/tskv-agent-<build> serve ...
const SOCKETS = '/run/tskv/agent-*-root/agent.sock';
const LOGS = '/run/tskv/agent-*-root.log';
const failures = (doc: PreflightDoc) => doc.checks.filter((c) => c.status === 'fail');
const lines = (doc: PreflightDoc) => failures(doc).map((c) => `${c.host} ${c.check}: ${c.observed}`);

describe('tskv preflight on the lab', { skip: labUnavailableReason() ?? false }, () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.up({ name: NAME, fresh: true });
  });
  after(() => Lab.down(NAME));

  /** Per host: the running agents' pids and how many lines their logs hold. */
  const residentAgents = async () =>
    Promise.all(
      lab.hosts.map(async (h) => ({
        host: h.name,
        pids: (await h.execOk(`pgrep -f "${AGENT}"`)).trim(),
        logLines: (await h.execOk(`cat ${LOGS} | wc -l`)).trim(),
      })),
    );

  test('a fresh lab fails on firewalld, naming every blocked hop', async () => {
    const { result, doc } = await tskvJson<PreflightDoc>(['preflight', lab.inventoryPath]);
    assert.equal(result.code, 1, result.stderr);
    assert.ok(
      lines(doc).includes('h102 reachability: h102 → docker:2380 blocked (firewalld zone public)'),
      lines(doc).join('\n'),
    );
    assert.ok(
      failures(doc).every((c) => c.fixedByDeploy),
      'only firewall problems on a fresh lab',
    );
    assert.ok(
      Object.values(doc.agents).every((a) => a.uploaded),
      'first run uploads the agent',
    );
  });

  test('passes once the ports are open, without uploading the agent again', async () => {
    for (const h of lab.hosts) {
      await h.openPort(2379);
      await h.openPort(2380);
    }
    const { result, doc } = await tskvJson<PreflightDoc>(['preflight', lab.inventoryPath]);
    assert.equal(
      result.code,
      0,
      JSON.stringify(
        doc.checks.filter((c) => c.status !== 'ok'),
        null,
        1,
      ),
    );
    assert.equal(doc.ok, true);
    assert.deepEqual(doc.agents, {
      h102: { uploaded: false },
      docker: { uploaded: false },
      h104: { uploaded: false },
    });
    const resident = await residentAgents();
    const plain = await tskv(['preflight', lab.inventoryPath]);
    assert.equal(plain.code, 0);
    assert.match(plain.stdout, /^preflight passed: \d+ checks on 3 hosts/m);
    // Each host's agent outlived the run before, and this run reached it without starting one
    // (every start, even one that finds an agent already serving, writes a line to the log).
    assert.deepEqual(await residentAgents(), resident);
  });

  test('an agent given a short idle time exits by itself, and its socket goes', async () => {
    // Without their sockets the resident agents cannot be reached: they exit, and the run starts new ones.
    for (const h of lab.hosts) await h.execOk(`rm -f ${SOCKETS}`);
    const run = await tskv(['preflight', lab.inventoryPath], { env: { TSKV_AGENT_IDLE_TIMEOUT: '2' } });
    assert.equal(run.code, 0, run.stdout);
    for (const h of lab.hosts) {
      await h.waitFor('the agent to exit after 2 s idle', `! pgrep -f "${AGENT}" && ! ls ${SOCKETS}`, 20_000);
      assert.match(await h.execOk(`cat ${LOGS}`), /stopping: no connection for 2 s/);
    }
  });

  test('(a) firewalld blocking 2380 on one host', async () => {
    await lab.host('docker').blockPort(2380);
    try {
      const { result, doc } = await tskvJson<PreflightDoc>(['preflight', lab.inventoryPath]);
      assert.equal(result.code, 1);
      assert.deepEqual(
        lines(doc).sort(),
        [
          'docker firewall: 2380/tcp blocked (firewalld zone public)',
          'h102 reachability: h102 → docker:2380 blocked (firewalld zone public)',
          'h104 reachability: h104 → docker:2380 blocked (firewalld zone public)',
        ].sort(),
      );
    } finally {
      await lab.host('docker').openPort(2380);
    }
  });

  test('(b) a host with a 4.4 s clock skew fails the clock check with the offsets', async () => {
    await lab.skew('h104', 4.4);
    try {
      const plain = await tskv(['preflight', lab.inventoryPath]);
      assert.equal(plain.code, 1, plain.stdout);
      const line = plain.stdout.split('\n').find((l) => l.startsWith('FAIL h104 clock:'));
      assert.ok(line, plain.stdout);
      // Each host's offset, ± half the round trip it was measured in: the skew must lie within that
      // bound (and 50 ms for rounding and the clocks' readings), however slow the round trips were.
      const offsets = /offsets to the controller: ([^)]*)\)/.exec(line)?.[1];
      const measured = [...(offsets ?? '').matchAll(/(\S+) ([+-]\d+\.\d{3})s ±(\d+\.\d{3})s/g)].map(
        ([, host, offset, error]) => ({ host, offset: Number(offset), error: Number(error) }),
      );
      assert.deepEqual(measured.map((m) => m.host).sort(), ['docker', 'h102', 'h104'], line);
      for (const m of measured) {
        const skew = m.host === 'h104' ? 4.4 : 0;
        assert.ok(m.error < 2, `${m.host}: ±${m.error} s cannot tell a 4.4 s skew from none`);
        assert.ok(Math.abs(m.offset - skew) <= m.error + 0.05, `${m.host}: ${m.offset} s, not ${skew} s`);
      }
      const h104 = measured.find((m) => m.host === 'h104')!;
      assert.ok(
        line.startsWith(`FAIL h104 clock: offset +${h104.offset.toFixed(3)}s ±${h104.error.toFixed(3)}s;`),
        line,
      );
      const [, largest, other] = /largest skew (\d+\.\d{3})s between (h102|docker) and h104/.exec(line) ?? [];
      assert.ok(largest && other, line);
      const otherOffset = measured.find((m) => m.host === other)!.offset;
      assert.ok(Math.abs(Number(largest) - (h104.offset - otherOffset)) <= 0.002, line);
      assert.doesNotMatch(plain.stdout, /FAIL (h102|docker) clock/);
    } finally {
      await lab.skew('h104', 0);
    }
  });

  test('(c) an existing data dir fails naming host and path, and the override', async () => {
    const dir = '/var/lib/etcd/h104.etcd/member/snap';
    await lab.host('h104').execOk(`mkdir -p ${dir}`);
    try {
      const { result, doc } = await tskvJson<PreflightDoc>(['preflight', lab.inventoryPath]);
      assert.equal(result.code, 1);
      const [c] = failures(doc);
      assert.equal(failures(doc).length, 1, lines(doc).join('\n'));
      assert.equal(c!.host, 'h104');
      assert.equal(c!.check, 'data-dir');
      assert.match(c!.observed, /\/var\/lib\/etcd\/h104\.etcd already holds etcd member data/);
      assert.match(c!.fix ?? '', /--allow-existing-data/);
      const allowed = await tskv(['preflight', lab.inventoryPath, '--allow-existing-data']);
      assert.equal(allowed.code, 0, allowed.stdout);
    } finally {
      await lab.host('h104').execOk('rm -rf /var/lib/etcd/h104.etcd');
    }
  });

  test('(d) a host whose sshd is stopped is named, and the others are still checked', async () => {
    await lab.host('docker').stopSshd();
    try {
      const { result, doc } = await tskvJson<PreflightDoc>(['preflight', lab.inventoryPath]);
      assert.equal(result.code, 1);
      const [c] = failures(doc);
      assert.equal(failures(doc).length, 1, lines(doc).join('\n'));
      assert.equal(c!.host, 'docker');
      assert.equal(c!.check, 'ssh');
      assert.ok(doc.checks.some((x) => x.host === 'h104' && x.check === 'clock' && x.status === 'ok'));
    } finally {
      await lab.host('docker').startSshd();
    }
  });

  test('(e) a changed host key fails naming both fingerprints; (f) an unknown key fails under strict', async () => {
    await lab.host('h102').regenerateHostKeys();
    try {
      const changed = await tskv(['preflight', lab.inventoryPath]);
      assert.equal(changed.code, 1);
      const line = changed.stdout.split('\n').find((l) => l.startsWith('FAIL h102 ssh:'));
      assert.ok(line, changed.stdout);
      assert.match(line, /changed/i);
      assert.match(
        line,
        /expects .*SHA256:[A-Za-z0-9+/]{43}.*the host presented \S+ SHA256:[A-Za-z0-9+/]{43}/,
        line,
      );
    } finally {
      await lab.refreshKnownHosts();
    }
    const emptyKnownHosts = lab.writeInventory(
      { ssh: { knownHosts: `${lab.layout.dir}/empty_known_hosts` } },
      'inventory-unknown-kh.yaml',
    );
    const unknown = await tskv(['preflight', emptyKnownHosts]);
    assert.equal(unknown.code, 1);
    for (const h of ['h102', 'docker', 'h104']) {
      assert.match(
        unknown.stdout,
        new RegExp(
          `FAIL ${h} ssh: verify host key: host key of \\S+ is not in \\S+empty_known_hosts \\(presented ssh-ed25519 key SHA256:`,
        ),
      );
    }
  });

  test('(g) a non-root user with passwordless sudo works; one without gets a clear error', async () => {
    for (const h of lab.hosts) await h.addUser('ops', 'nopasswd');
    await lab.host('h104').addUser('ops', 'password');
    const inv = lab.writeInventory({ ssh: { user: 'ops' } }, 'inventory-ops.yaml');
    const { doc } = await tskvJson<PreflightDoc>(['preflight', inv]);
    const ssh = doc.checks.filter((c) => c.check === 'ssh');
    assert.deepEqual(
      ssh
        .filter((c) => c.status === 'ok')
        .map((c) => c.host)
        .sort(),
      ['docker', 'h102'],
    );
    const bad = ssh.find((c) => c.host === 'h104')!;
    assert.equal(bad.status, 'fail');
    assert.match(bad.observed, /passwordless sudo/);
  });
});

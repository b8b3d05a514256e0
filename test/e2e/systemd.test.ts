/**
 * What users run on real hosts: systemd as init. deploy installs etcd.service (enabled, run as the
 * etcd user), a power cycle of one host and then of every host brings the cluster back by itself
 * with every key written before, a unit that fails is reported with its journal lines, and the
 * learner replacement keeps every acknowledged write.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../../controller/wait.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { deploy } from './deploy-helpers.ts';
import { assertOk, deployedLab, type Live, names, openLive, tskv } from './replace-helpers.ts';
import { underWriter } from './sweep.ts';

const NAME = 'e2e-sysd';
const KEYS = 200;

describe('etcd as a systemd service', { skip: labUnavailableReason() ?? false }, () => {
  let lab: Lab;
  let all: string;
  let three: string;

  before(async () => {
    // Plain HTTP: the checks run etcdctl on the hosts as the seed does (TLS on systemd hosts:
    // tls.test.ts, tls-rotate.test.ts).
    ({ lab, all, three } = await deployedLab(NAME, ['h102', 'docker', 'h104', 'h105'], '3.4', 'systemd', {
      tls: { mode: 'off' },
    }));
  });
  after(() => Lab.down(NAME));

  const members = () => ['h102', 'docker', 'h104'].map((n) => lab.host(n));

  /** Every member answers healthy and holds every key written before, with no tskv command run. */
  async function backByItself(what: string): Promise<void> {
    await waitFor(
      async () => {
        for (const h of members()) {
          const r = await h.exec(
            'ETCDCTL_API=3 etcdctl endpoint health >/dev/null && ETCDCTL_API=3 etcdctl get before/ --prefix --keys-only | grep -c ^before/',
          );
          if (r.code !== 0 || r.stdout.trim() !== String(KEYS)) return false;
        }
        return true;
      },
      { deadlineMs: 90_000, intervalMs: 250, describe: `the cluster back after ${what}, every key there` },
    );
  }

  test('deploy: an enabled etcd.service, run as etcd, its data etcd:etcd 0700; a re-run changes nothing', async () => {
    for (const h of members()) {
      const out = await h.execOk(
        'systemctl is-active etcd; systemctl is-enabled etcd; ps -o user= -p "$(systemctl show -p MainPID --value etcd)"; ' +
          `stat -c '%U:%G %a' /var/lib/etcd/${h.name}.etcd /etc/etcd/etcd.env`,
      );
      assert.equal(out, 'active\nenabled\netcd\netcd:etcd 700\nroot:etcd 640\n', h.name);
    }
    const status = await tskv(['status', three]);
    assertOk(status, 'status');
    for (const h of members()) {
      assert.match(
        status.stdout,
        new RegExp(`^${h.name} .* running \\(systemd, pid \\d+, user etcd, since `, 'm'),
      );
    }
    const again = await deploy(three);
    assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
  });

  test('a changed flag: each unit restarted in turn, the leader last, to run the new env file', async () => {
    const changed = lab.writeInventory(
      { hosts: { h105: null }, etcd: { flags: { 'enable-v2': true, 'snapshot-count': 50_001 } } },
      'changed-flag.yaml',
    );
    const run = await deploy(changed, ['--yes']);
    assert.equal(run.result.code, 0, JSON.stringify(run.doc.error));
    assert.deepEqual([...run.doc.restarted].sort(), ['docker', 'h102', 'h104']);
    assert.ok(run.doc.plan?.leader, 'the plan names the leader it found');
    assert.equal(run.doc.restarted.at(-1), run.doc.plan.leader, 'the leader restarts last');
    for (const h of members()) {
      const environ = await h.execOk(
        `tr '\\0' '\\n' </proc/$(systemctl show -p MainPID --value etcd)/environ`,
      );
      assert.match(environ, /^ETCD_SNAPSHOT_COUNT=50001$/m, h.name);
    }
    assert.equal((await deploy(changed)).doc.summary, 'nothing to do: 3 hosts converged');
    // Back to the lab's settings for the tests that follow.
    assert.equal((await deploy(three, ['--yes'])).result.code, 0);
  });

  test('a power cycle of one host, then of all three: the cluster comes back by itself, nothing lost', async () => {
    const h102 = lab.host('h102');
    await h102.execOk(
      `for i in $(seq -w 1 ${KEYS}); do ETCDCTL_API=3 etcdctl put before/$i v$i >/dev/null; done`,
    );
    await backByItself('writing');
    await lab.reboot('docker');
    await backByItself('docker was power-cycled');
    await lab.rebootAll();
    await backByItself('every host was power-cycled');
    // Nothing for tskv to do afterwards, and nothing restarted by it.
    const again = await deploy(three);
    assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
  });

  test('a unit that fails to start (a bad flag) is reported with its journal lines; fixed, a re-run converges', async () => {
    const bad = lab.writeInventory(
      { hosts: { h105: null }, etcd: { flags: { 'enable-v2': true, 'snapshot-count': 'lots' } } },
      'bad-flag.yaml',
    );
    const failed = await deploy(bad, ['--yes']);
    assert.equal(failed.result.code, 1);
    const err = failed.doc.error!;
    assert.equal(err.code, 'E_ETCD_START', JSON.stringify(err));
    assert.match(err.message, /exited \(exit-code, status 1\)/);
    assert.match(err.message, /cause: .*invalid value "lots" for ETCD_SNAPSHOT_COUNT/);
    // The journal's own lines, systemd's included.
    assert.match(
      err.message,
      /systemd\[1\]: etcd\.service: Main process exited, code=exited, status=1\/FAILURE/,
    );
    // The rolling restart stopped at the first member: the others run the old settings.
    const running = await Promise.all(members().map((h) => h.exec('systemctl is-active etcd')));
    assert.equal(running.filter((r) => r.stdout.trim() === 'active').length, 2);
    const fixed = await deploy(three);
    assert.equal(fixed.result.code, 0, JSON.stringify(fixed.doc.error));
    await backByItself('the bad flag was fixed');
  });

  describe('replace through a learner under a writer', () => {
    let live: Live;
    before(async () => {
      // Fresh connections: the reboots above ended every earlier one.
      live = await openLive(all);
    });
    after(() => live?.close());

    test('h104 by h105: every acknowledged write is kept, some while a member was out', async () => {
      const {
        result: r,
        writer,
        monitor,
      } = await underWriter(
        live.live.cluster(3000),
        'systemd/learner',
        all,
        () => tskv(['replace', all, 'h104=h105', '--yes']),
        20,
      );
      assertOk(r, 'replace h104=h105');
      assert.deepEqual(names(await live.members()), ['docker', 'h102', 'h105']);
      assert.deepEqual(await writer.lost(), []);
      const whileOut = writer.acknowledgedAt.filter((t) => monitor.degradedAt(t)).length;
      assert.ok(whileOut > 0, `writes acknowledged while the cluster was not whole: ${whileOut}`);
      const h105 = await lab.host('h105').execOk('systemctl is-active etcd; systemctl is-enabled etcd');
      assert.equal(h105, 'active\nenabled\n');
      // The replaced member stays down across a reboot: its unit is disabled, its data moved aside.
      const h104 = lab.host('h104');
      assert.equal((await h104.exec('systemctl is-enabled etcd')).stdout.trim(), 'disabled');
      await lab.reboot('h104');
      assert.equal((await h104.exec('systemctl is-active etcd')).stdout.trim(), 'inactive');
      assert.match(await h104.execOk('ls -d /var/lib/etcd/h104.etcd.removed-*'), /removed-/);
    });
  });
});

/**
 * Deploy's failures and re-runs, on one kind of host: deploy-faults.test.ts runs them on hosts
 * without an init (tskv's supervisor), deploy-faults-systemd.test.ts on systemd hosts, side by side.
 * Only the faults where the service manager matters (a member that fails to start, a power cycle)
 * run on both kinds; the others (SSH cut off, a failed preflight, a skewed clock) are the same on
 * either and run once, on systemd hosts, as real hosts are, in turn on one fresh lab.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import type { LabInit } from '../../lab/names.ts';
import { tskv } from './cli.ts';
import { assertDeployed, curlJson, deploy } from './deploy-helpers.ts';

async function assertHealthy(lab: Lab, hosts: string[]): Promise<void> {
  for (const name of hosts) {
    const h = await curlJson<{ health: string }>(lab.host(name), 'http://127.0.0.1:2379/health');
    assert.equal(h.health, 'true', `${name} healthy`);
  }
}

export function describeDeployFaults(init: LabInit): void {
  const NAME = init === 'systemd' ? 'e2e-dfaults-sd' : 'e2e-dfaults';
  const manager = init === 'systemd' ? 'systemd' : 'supervisor';
  const hostKind = init === 'systemd' ? 'systemd hosts' : 'hosts without an init';
  // Faults, not TLS: plain HTTP lets the checks curl each member's /health on its host.
  const onceOnly = init === 'systemd' ? false : 'the same on either kind of host: run on systemd hosts';
  const freshLab = () => Lab.up({ name: NAME, fresh: true, init, inventory: { tls: { mode: 'off' } } });

  describe(`tskv deploy on the lab: failures and re-runs (${hostKind})`, {
    skip: labUnavailableReason() ?? false,
  }, () => {
    let lab: Lab;
    before(async () => {
      lab = await freshLab();
    });
    after(() => Lab.down(NAME));

    test('a member that fails to start: exit 1 with its log lines, the others keep running; fixed, a re-run converges', async () => {
      const h104 = lab.host('h104');
      // Its peer port taken after preflight found it free, as h104 starts: etcd itself refuses to start.
      const takePeerPort =
        `nsenter -t ${h104.pid} -n -m -p -u -i -r -w -- sh -c ` +
        `'setsid socat TCP-LISTEN:2380,reuseaddr,fork /dev/null </dev/null >/dev/null 2>&1 & ` +
        `until ss -Hltn "sport = :2380" | grep -q .; do sleep 0.05; done'`;
      const failed = await deploy(lab.inventoryPath, [], {
        seams: ['--before', 'start@h104', '--do', `exec:${takePeerPort}`],
      });
      assert.equal(failed.result.code, 1, failed.result.stdout);
      const err = failed.doc.error!;
      assert.equal(err.host, 'h104', JSON.stringify(err, null, 1));
      assert.equal(err.step, 'start etcd');
      assert.match(err.message, /cause: .*2380: bind: address already in use/);
      assert.match(err.message, /last \d+ log lines:/);
      await assertHealthy(lab, ['h102', 'docker']);
      assert.equal((await h104.exec('pgrep -x etcd')).code, 1, 'the failed member is not left crash-looping');

      // Run again as is: preflight now sees the port taken, and names the process.
      const plain = await tskv(['deploy', lab.inventoryPath]);
      assert.equal(plain.code, 1);
      assert.match(plain.stdout, /^ {2}h104 ports: 2380\/tcp in use by socat \(pid \d+\) on 0\.0\.0\.0$/m);

      // status: the others' etcd runs; h104's is stopped, and its log says why.
      const status = await tskv(['status', lab.inventoryPath]);
      assert.equal(status.code, 1);
      for (const h of ['h102', 'docker']) {
        assert.match(
          status.stdout,
          new RegExp(`^${h} .* running \\(${manager}, pid \\d+, user etcd, since \\S+Z`, 'm'),
        );
      }
      assert.match(status.stdout, new RegExp(`^h104 .* stopped \\(${manager}\\b`, 'm'));
      assert.match(
        status.stdout,
        /^h104: etcd's last \d+ log lines:\n(?: {2}.*\n)*? {2}.*address already in use/m,
      );

      await h104.execOk("pkill -f 'socat TCP-LISTEN:2380'");
      const fixed = await deploy(lab.inventoryPath);
      assertDeployed(fixed);
      assert.deepEqual(
        fixed.doc.started,
        ['h104'],
        'only the missing member starts (it joins its bootstrap late)',
      );
      assert.equal(fixed.doc.plan?.mode.kind, 'existing');
    });

    // Three faults of a first deploy on one fresh lab, in turn: a failed preflight, a clock that
    // cannot be set, then (its skew allowed) a host cut off as the members start.
    test("a failed preflight changes nothing, the etcd tarball pushed meanwhile waits in tskv's cache; a skewed clock that cannot be set: a clear error naming host and offset, nothing changed; with --allow-skew, a host cut off mid-deploy: the failure names it; back online, a re-run converges without sending the tarball again", {
      skip: onceOnly,
    }, async () => {
      lab = await freshLab();
      const untouched = async (why: string) => {
        for (const h of lab.hosts)
          assert.equal((await h.exec('test -e /usr/local/bin/etcd')).code, 1, `${h.name} untouched (${why})`);
      };

      // A failed preflight: nothing changes, but the tarball pushed while it ran stays.
      const stray = '/var/lib/etcd/h104.etcd/member/snap';
      await lab.host('h104').execOk(`mkdir -p ${stray}`);
      const refused = await deploy(lab.inventoryPath);
      assert.equal(refused.result.code, 1, refused.result.stdout);
      assert.equal(refused.doc.error?.code, 'E_PREFLIGHT', JSON.stringify(refused.doc.error));
      for (const h of lab.hosts) {
        assert.equal(
          (await h.exec('test -e /usr/local/bin/etcd || test -e /etc/etcd/etcd.env')).code,
          1,
          h.name,
        );
        assert.doesNotMatch(
          await h.execOk('firewall-cmd --list-ports'),
          /2379/,
          `${h.name} firewall untouched`,
        );
        // Pushed while preflight ran, as zstd (the hosts have it), verified: the next run does not send it again.
        assert.match(
          await h.execOk('ls /var/lib/tskv/cache'),
          /^etcd-v3\.4\.\d+-linux-amd64\.[0-9a-f]{16}\.tar\.zst$/m,
          h.name,
        );
      }
      await lab.host('h104').execOk('rm -r /var/lib/etcd/h104.etcd');

      await lab.skew('h104', 4.4);
      try {
        const skewed = await deploy(lab.inventoryPath);
        assert.equal(skewed.result.code, 1, skewed.result.stdout);
        const err = skewed.doc.error!;
        assert.equal(err.code, 'E_CLOCK_SKEW', JSON.stringify(err));
        assert.equal(err.host, 'h104');
        assert.match(err.message, /clock is \+4\.\d{3}s ±\d\.\d{3}s off the controller/);
        assert.match(err.fix ?? '', /--allow-skew/);
        await untouched('a skewed clock');
        // --step-clock asks the host to step its clock to the controller's: the lab's hosts may not set
        // the clock (no CAP_SYS_TIME, by design), so the step is refused there and said so.
        const stepped = await deploy(lab.inventoryPath, ['--step-clock']);
        assert.equal(stepped.result.code, 1, stepped.result.stdout);
        assert.equal(stepped.doc.error?.code, 'E_CLOCK_SKEW', JSON.stringify(stepped.doc.error));
        assert.equal(stepped.doc.error?.host, 'h104');
        assert.match(
          stepped.doc.error!.message,
          /could not be fixed: .*cannot set the clock on h104: operation not permitted \(no CAP_SYS_TIME\)/,
        );
        assert.deepEqual(stepped.doc.actions['h104'], [
          'could not sync the clock: cannot set the clock on h104: operation not permitted (no CAP_SYS_TIME)',
        ]);
        await untouched('--step-clock refused');

        // --allow-skew deploys; after install and configuration, as the members start: every sshd on docker dies.
        const docker = lab.host('docker');
        const cutOff = `exec:nsenter -t ${docker.pid} -m -p -- pkill -x sshd`;
        const cut = await deploy(lab.inventoryPath, ['--allow-skew'], {
          seams: ['--before', 'start@h102', '--do', cutOff],
        });
        assert.match(cut.result.stderr, /warning: h104: clock is \+4\.\d{3}s/);
        assert.equal(cut.result.code, 1, cut.result.stdout);
        assert.equal(cut.doc.error?.host, 'docker', JSON.stringify(cut.doc.error));
        await assertHealthy(lab, ['h102', 'h104']);
        // The tarball the failed preflight left in the hosts' cache is the one installed.
        for (const h of lab.hosts) {
          const actions = cut.doc.actions[h.name] ?? [];
          assert.ok(
            actions.some((a) => a.startsWith('install etcd ')),
            `${h.name}: ${JSON.stringify(actions)}`,
          );
          assert.ok(
            !actions.some((a) => a.startsWith('uploaded etcd-')),
            `${h.name}: ${JSON.stringify(actions)}`,
          );
        }

        const unreachable = await deploy(lab.inventoryPath, ['--allow-skew']);
        assert.equal(unreachable.result.code, 1);
        assert.equal(unreachable.doc.error?.code, 'E_PREFLIGHT');
        assert.match(unreachable.doc.error!.message, /preflight failed on docker; nothing was changed/);

        await docker.startSshd();
        const rerun = await deploy(lab.inventoryPath, ['--allow-skew']);
        assertDeployed(rerun);
        assert.deepEqual(rerun.doc.started, ['docker']);
      } finally {
        await lab.skew('h104', 0);
      }
    });

    // On systemd hosts the enabled unit brings the member back: systemd.test.ts.
    test('a host without an init power-cycled: nothing starts its member; status says it is down; deploy starts it', {
      skip: init === 'systemd',
    }, async () => {
      const h104 = lab.host('h104');
      await lab.reboot('h104');
      assert.equal((await h104.exec('pgrep -x etcd')).code, 1, 'no boot hook starts etcd');
      const status = await tskv(['status', lab.inventoryPath]);
      assert.equal(status.code, 1);
      assert.match(status.stdout, /^h104 .* stopped \(supervisor\)/m);
      await assertHealthy(lab, ['h102', 'docker']);
      const run = await deploy(lab.inventoryPath);
      assertDeployed(run);
      assert.deepEqual(run.doc.started, ['h104']);
    });
  });
}

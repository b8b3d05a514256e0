/**
 * Quorum loss on a TLS cluster of systemd hosts (etcd 3.5), and of init-less ones (etcd 3.4): keys
 * written, etcd killed (init-less: stopped) on two of the
 * three hosts and their data destroyed. status says the quorum is lost and names tskv recover;
 * recover --yes rebuilds around the survivor (on systemd hosts, killed twice and re-run): three
 * healthy members, every acknowledged key there, no data dir deleted (the destroyed ones moved
 * aside), and deploy afterwards changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EtcdClient } from '../../controller/etcd/index.ts';
import { waitFor } from '../../controller/wait.ts';
import type { EtcdMinor } from '../../lab/etcd-tarball.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import type { LabInit } from '../../lab/names.ts';
import { tskv } from './cli.ts';
import { assertOk, deployedLab, names, openLive } from './replace-helpers.ts';
import { killedAt } from './sweep.ts';

const NAME = 'e2e-recover';
const HOSTS = ['h102', 'docker', 'h104'];
const LOST = ['docker', 'h104'];
const KEYS = 300;
const dataDir = (host: string) => `/var/lib/etcd/${host}.etcd`;
const valueFor = (key: string) => `v:${key}`;

/**
 * The scenario on `init` hosts with etcd `minor`; `full` adds the dry run, the refusal while the
 * quorum holds, and recovers through two killed runs (one lab, one disaster: a recovery run
 * straight through is the other variant's).
 */
function scenario(minor: EtcdMinor, init: LabInit, full: boolean): void {
  describe(`recover from a lost quorum (TLS, ${init === 'systemd' ? 'systemd' : 'init-less'} hosts, etcd ${minor})`, {
    skip: labUnavailableReason() ?? false,
  }, () => {
    let lab: Lab;
    let inventory: string;
    const acknowledged: string[] = [];

    before(async () => {
      ({ lab, three: inventory } = await deployedLab(NAME, HOSTS, minor, init));
    });
    after(() => Lab.down(NAME));

    /** Writes KEYS keys under `prefix` (each acknowledged one remembered), then kills etcd on LOST and destroys their data. */
    async function disaster(prefix: string): Promise<void> {
      const live = await openLive(inventory);
      try {
        const cluster = live.live.cluster();
        for (let i = 0; i < KEYS; i++) {
          const key = `${prefix}/${String(i).padStart(4, '0')}`;
          await cluster.put(key, valueFor(key));
          acknowledged.push(key);
        }
        // The survivor is up to date: every member has applied everything before the disaster.
        await waitFor(
          async () => {
            const applied = (await live.live.view()).probes.map((p) => p.status?.raftAppliedIndex);
            return applied.every((a) => a !== undefined && a === applied[0]);
          },
          { deadlineMs: 30_000, intervalMs: 200, describe: 'every member to apply the same index' },
        );
        // Init-less: the agent's supervisor would start a killed etcd again; it is stopped through it.
        if (init !== 'systemd') for (const name of LOST) await live.service(name, 'stop');
      } finally {
        await live.close();
      }
      for (const name of LOST) {
        const h = lab.host(name);
        if (init === 'systemd')
          await h.execOk('systemctl kill --signal=KILL etcd.service; systemctl stop etcd.service');
        // Its WAL and snapshots lost (a marker left in their place): etcd cannot start from what is left.
        await h.execOk(
          `rm -rf ${dataDir(name)}/member/wal ${dataDir(name)}/member/snap && echo destroyed > ${dataDir(name)}/member/DESTROYED`,
        );
      }
    }

    /** Every member a healthy voter, one on each host, and every acknowledged key there. */
    async function assertRecovered(): Promise<void> {
      const live = await openLive(inventory);
      try {
        await live.waitAllHealthy();
        const members = await live.members();
        assert.deepEqual(names(members), [...HOSTS].sort());
        assert.ok(
          members.every((m) => m.started && !m.isLearner),
          JSON.stringify(members),
        );
        const cluster = live.live.cluster();
        const missing: string[] = [];
        for (const key of acknowledged) {
          if ((await cluster.get(key))?.value !== valueFor(key)) missing.push(key);
        }
        if (missing.length > 0) {
          // What each member says of the first missing key on its own (serializable), and its state.
          const seen = await Promise.all(
            HOSTS.map(async (h) => {
              const client = new EtcdClient(live.live.endpoint(h)!, { timeoutMs: 5000 });
              const st = await client.status().catch((e: unknown) => String(e));
              const kv = await client
                .get(missing[0]!, { serializable: true })
                .catch((e: unknown) => String(e));
              return `${h}: ${JSON.stringify(kv)} ${JSON.stringify(st)}`;
            }),
          );
          assert.fail(`${missing.length} acknowledged keys missing (${missing[0]}...):\n${seen.join('\n')}`);
        }
      } finally {
        await live.close();
      }
      assert.doesNotMatch(await lab.host('h102').execOk('cat /etc/etcd/etcd.env'), /FORCE_NEW_CLUSTER/);
    }

    test('keys written; etcd killed on two hosts and their data destroyed: status says the quorum is lost', async () => {
      await disaster('/recover');
      let said = '';
      await waitFor(
        async () => {
          const r = await tskv(['status', inventory]);
          said = r.stdout + r.stderr;
          return r.code !== 0 && /QUORUM LOST/.test(r.stdout);
        },
        {
          deadlineMs: 60_000,
          intervalMs: 1000,
          describe: `status to say the quorum is lost (last: ${said})`,
        },
      );
      assert.match(said, /QUORUM LOST: 0 of 3 voting members healthy, 2 needed; only h102 answers\./);
      assert.match(said, new RegExp(`tskv recover ${inventory.replaceAll('.', '\\.')}`));
    });

    test('recover --dry-run names the survivor and what may be lost, and changes nothing', {
      skip: full ? false : 'run in the systemd variant only',
    }, async () => {
      const r = await tskv(['recover', inventory, '--dry-run']);
      assertOk(r, 'recover --dry-run');
      assert.match(r.stdout, /the cluster has lost its quorum; recover around h102:/);
      assert.match(r.stdout, /h102 has the highest raft index of the members that answered: \d+/);
      assert.match(
        r.stdout,
        /docker, h104 did not answer: any entry beyond raft index \d+ that only they had is lost/,
      );
      assert.match(
        r.stdout,
        /1\. take a snapshot of h102's data, kept on h102 under \/var\/lib\/tskv\/snapshots/,
      );
      assert.match(r.stdout, /restart etcd on h102 alone with --force-new-cluster/);
      assert.match(r.stdout, /add docker \(https:\/\/[\d.]+:2380\) to the cluster as a learner/);
      for (const name of LOST) {
        assert.equal(
          (await lab.host(name).execOk(`cat ${dataDir(name)}/member/DESTROYED`)).trim(),
          'destroyed',
        );
      }
      const refused = await tskv(['recover', inventory]);
      assert.notEqual(refused.code, 0, 'without a TTY and without --yes it refuses');
      assert.match(refused.stderr, /--yes/);
    });

    /** The survivor's data saved on its host first, with every key written: the snapshot line of `stderr`. */
    async function assertSnapshotSaved(stderr: string): Promise<void> {
      const snap = /h102: snapshot (\/var\/lib\/tskv\/snapshots\/\S+\.db) \(revision \d+, (\d+) keys/.exec(
        stderr,
      );
      assert.ok(snap, stderr);
      assert.ok(Number(snap[2]) >= KEYS, `${snap[2]} keys in the snapshot`);
      await lab.host('h102').execOk(`test -s ${snap[1]}`);
    }

    /** The destroyed data dirs moved aside with what was left in them; fresh ones in their place. */
    async function assertMovedAside(): Promise<void> {
      for (const name of LOST) {
        const aside = await lab.host(name).execOk(`cat ${dataDir(name)}.removed-*/member/DESTROYED`);
        assert.equal(aside.trim(), 'destroyed', name);
        await lab
          .host(name)
          .execOk(`test -d ${dataDir(name)}/member/wal && test ! -e ${dataDir(name)}/member/DESTROYED`);
      }
      await lab.host('h102').execOk(`test -d ${dataDir('h102')}/member`);
    }

    /** recover --yes run to the end (`killed`: after runs of it were killed), timed. */
    async function recoverToTheEnd(killed: boolean): Promise<string> {
      const started = Date.now();
      const r = await tskv(['recover', inventory, '--yes'], { timeoutMs: 400_000 });
      assertOk(r, `recover --yes${killed ? ' after the second kill' : ''}`);
      process.stderr.write(`recover --yes took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      assert.match(r.stdout, /recovered around h102 in [\d.]+ s/);
      assert.match(r.stdout, /the inventory and the cluster agree/);
      return r.stdout + r.stderr;
    }

    test('recover --yes: three healthy members, every acknowledged key present, no data dir deleted', {
      skip: full ? 'the systemd variant recovers through killed runs (below)' : false,
    }, async () => {
      await assertSnapshotSaved(await recoverToTheEnd(false));
      await assertRecovered();
      await assertMovedAside();
    });

    // The systemd variant's recovery: the same checks, through two killed runs.
    test('recover --yes killed with --force-new-cluster still in the config, and killed half way through a learner, is finished by re-running: three healthy members, every acknowledged key present, no data dir deleted', {
      skip: full ? false : 'run in the systemd variant only',
    }, async () => {
      const args = ['recover', inventory, '--yes'];
      // The survivor's data saved on its host first (the run that says how many keys is the other variant's).
      const snapshots = "find /var/lib/tskv/snapshots -name '*.db' -size +0c 2>/dev/null || true";
      const earlier = await lab.host('h102').execOk(snapshots);
      await killedAt(args, { before: 'drop-force-flag@h102' });
      const saved = (await lab.host('h102').execOk(snapshots))
        .split('\n')
        .filter((f) => f && !earlier.includes(f));
      assert.equal(saved.length, 1, `one new snapshot on h102: ${saved.join(', ')}`);
      assert.match(
        await lab.host('h102').execOk('cat /etc/etcd/etcd.env'),
        /^ETCD_FORCE_NEW_CLUSTER="true"$/m,
      );
      const dry = await tskv(['recover', inventory, '--dry-run']);
      assertOk(dry, 'recover --dry-run after the first kill');
      assert.match(
        dry.stdout,
        /a recovery around h102 is under way; resuming it:\n +1\. write h102's config back without --force-new-cluster/,
      );
      await killedAt(args, { before: 'promote@docker' });
      const status = await tskv(['status', inventory]);
      assert.match(status.stdout, /a recovery around h102 is in progress .*re-run tskv recover to finish/);
      // Membership changes of other commands wait for it: the hosts not back yet hold old data.
      for (const other of [
        ['member', 'remove', inventory, 'docker', '--dry-run'],
        ['member', 'add', inventory, 'h104', '--start', '--dry-run'],
        ['replace', inventory, 'h104=docker', '--dry-run'],
        ['deploy', inventory, '--dry-run'],
        ['certs', 'rotate', inventory, '--dry-run'],
      ]) {
        const refused = await tskv(other);
        assert.equal(refused.code, 1, `${other.join(' ')}: ${refused.stdout}${refused.stderr}`);
        // deploy reports its failure with its result, on stdout.
        assert.match(refused.stdout + refused.stderr, /a recovery from a lost quorum is under way/);
      }
      assert.match(await recoverToTheEnd(true), /resuming it:\n +1\. install etcd [\d.]+ on docker/);
      await assertRecovered();
      await assertMovedAside();
    });

    test('afterwards deploy changes nothing, status is clean, and recover refuses while quorum holds', async () => {
      const deployed = await tskv(['deploy', inventory]);
      assertOk(deployed, 'deploy after the recovery');
      assert.match(deployed.stdout + deployed.stderr, /nothing to do: 3 hosts converged/);
      const status = await tskv(['status', inventory]);
      assertOk(status, 'status after the recovery');
      assert.doesNotMatch(status.stdout, /QUORUM LOST|recovery .* in progress/);
      const again = await tskv(['recover', inventory, '--yes']);
      assertOk(again, 'recover on a healthy cluster');
      assert.match(again.stdout, /nothing to recover/);
      if (!full) return;
      // One member down: the quorum holds, replace is the tool.
      const h104 = lab.host('h104');
      await h104.execOk('systemctl stop etcd.service');
      try {
        const refused = await tskv(['recover', inventory, '--yes']);
        assert.notEqual(refused.code, 0, refused.stdout);
        assert.match(refused.stdout + refused.stderr, /the cluster has quorum \(2 of 3 voters healthy\)/);
        assert.match(refused.stdout + refused.stderr, /tskv replace /);
      } finally {
        await h104.execOk('systemctl start etcd.service');
      }
    });
  });
}

scenario('3.5', 'systemd', true);
scenario('3.4', 'none', false);

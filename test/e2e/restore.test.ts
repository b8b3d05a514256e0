/**
 * `tskv restore` on a TLS cluster, on init-less hosts with etcd 3.4 (etcdctl restores) and on
 * systemd hosts with etcd 3.5 (etcdutl restores): 1,000 keys, a snapshot saved, one more key,
 * a disaster (etcd stopped and every data dir moved away), restore from the file: the 1,000 keys
 * back, the later key absent, 3 healthy members with new IDs (a new initial-cluster-token), and
 * deploy afterwards changes nothing. Bad input changes nothing: a missing, truncated or corrupt
 * file, another cluster's snapshot (needs --yes), no room on a host. On a running cluster a
 * restore rolls writes back and keeps every data dir moved aside.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { EtcdClient } from '../../controller/etcd/index.ts';
import type { EtcdMinor } from '../../lab/etcd-tarball.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import type { LabInit } from '../../lab/names.ts';
import { type CliResult, tskv } from './cli.ts';
import { assertDeployed, deploy, etcdPids } from './deploy-helpers.ts';
import { type Live, openLive } from './replace-helpers.ts';

const NAME = 'e2e-restore';
const KEYS = 1000;
const HOSTS = ['h102', 'docker', 'h104'];

const VARIANTS: { init: LabInit; minor: EtcdMinor }[] = [
  { init: 'none', minor: '3.4' },
  { init: 'systemd', minor: '3.5' },
];

for (const { init, minor } of VARIANTS)
  describe(`tskv restore (TLS, etcd ${minor}, ${init === 'none' ? 'init-less' : 'systemd'} hosts)`, {
    skip: labUnavailableReason() ?? false,
  }, () => {
    let lab: Lab;
    let inventory: string;
    let dataDirs: Map<string, string>;
    let dir: string;
    let snapshot: string;
    let live: Live | undefined;
    const timings: Record<string, number> = {};

    before(async () => {
      lab = await Lab.up({ name: NAME, hosts: HOSTS, fresh: true, init });
      const tarball = await lab.etcdTarball(minor);
      inventory = lab.writeInventory(
        { etcd: { version: tarball.version, source: tarball.path } },
        `restore-${minor}.yaml`,
      );
      dataDirs = new Map((await lab.inventory(inventory)).hosts.map((h) => [h.name, h.dataDir]));
      dir = join(lab.layout.dir, 'restore-files');
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      snapshot = join(dir, 'cluster.db');
    });
    after(async () => {
      await live?.close();
      process.stderr.write(`restore e2e timings, etcd ${minor} ${init} (s): ${JSON.stringify(timings)}\n`);
      await Lab.down(NAME);
    });

    /** `tskv restore INVENTORY ...args`, timed under `label`. */
    const restore = async (label: string, args: string[]): Promise<CliResult> => {
      const started = Date.now();
      const r = await tskv(['restore', inventory, ...args], { timeoutMs: 400_000 });
      timings[label] = (Date.now() - started) / 1000;
      return r;
    };
    const client = (): EtcdClient => live!.live.cluster(5000).clients[0]!;
    const fileOn = async (host: string, path: string) => {
      const b64 = await lab.host(host).execOk(`base64 -w0 ${path}`);
      return Buffer.from(b64.trim(), 'base64');
    };
    /** What the snapshot folder on `host` holds ('' when it is empty or missing). */
    const uploaded = async (host: string) =>
      (await lab.host(host).execOk('ls /var/lib/tskv/snapshots 2>/dev/null || true')).trim();
    /** Nothing changed: the same etcd processes, the data, and no uploaded copy left behind. */
    const assertUnchanged = async (pids: Record<string, string>, r: CliResult, what: RegExp) => {
      const said = r.stdout + r.stderr;
      assert.match(said, what, said);
      assert.match(said, /nothing was changed/, said);
      assert.doesNotMatch(said, /\n\s+at /, 'no stack trace');
      assert.deepEqual(await etcdPids(lab), pids, 'etcd was not restarted');
      assert.equal((await client().countKeys()).count, KEYS);
    };

    test('deploy, write 1,000 keys, save a snapshot on h102 and bring it to the controller', async () => {
      let t = Date.now();
      assertDeployed(await deploy(inventory));
      timings['deploy'] = (Date.now() - t) / 1000;
      live = await openLive(inventory);
      const c = client();
      for (let i = 0; i < KEYS; i += 50) {
        await Promise.all(
          Array.from({ length: 50 }, (_, j) => c.put(`k/${String(i + j).padStart(4, '0')}`, `v${i + j}`)),
        );
      }
      assert.equal((await c.countKeys()).count, KEYS);
      t = Date.now();
      const saved = await tskv([
        'etcdctl',
        inventory,
        '--host',
        'h102',
        '--',
        'snapshot',
        'save',
        '/tmp/cluster.db',
      ]);
      assert.equal(saved.code, 0, saved.stdout + saved.stderr);
      writeFileSync(snapshot, await fileOn('h102', '/tmp/cluster.db'));
      timings['snapshot save + copy'] = (Date.now() - t) / 1000;
    });

    test('bad input changes nothing: missing, truncated, corrupt file; another cluster needs --yes; no room on a host', async () => {
      const pids = await etcdPids(lab);
      const missing = await restore('missing file', [join(dir, 'nope.db'), '--yes']);
      assert.equal(missing.code, 2, missing.stdout + missing.stderr);
      await assertUnchanged(pids, missing, /nope\.db does not exist/);
      assert.match(missing.stdout + missing.stderr, /nope\.db does not exist/);

      const bytes = readFileSync(snapshot);
      const truncated = join(dir, 'truncated.db');
      writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
      const t = await restore('truncated file', [truncated, '--yes']);
      assert.equal(t.code, 1, t.stdout + t.stderr);
      await assertUnchanged(pids, t, /truncated\.db cannot be restored/);
      assert.match(t.stdout + t.stderr, /truncated or corrupt/);

      const corrupt = join(dir, 'corrupt.db');
      const flipped = Buffer.from(bytes);
      flipped[Math.floor(flipped.length / 3)]! ^= 0x55;
      writeFileSync(corrupt, flipped);
      const c = await restore('corrupt file', [corrupt, '--yes']);
      assert.equal(c.code, 1, c.stdout + c.stderr);
      await assertUnchanged(pids, c, /corrupt\.db cannot be restored: .*truncated or corrupt/);

      // Another cluster: a throwaway one-member etcd on h104's loopback, saved and stopped again.
      const h104 = lab.host('h104');
      await h104.execOk(
        'rm -rf /tmp/other && (setsid /usr/local/bin/etcd --name other --data-dir /tmp/other --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 --initial-cluster other=http://127.0.0.1:23800 >/tmp/other.log 2>&1 & echo $! >/tmp/other.pid)',
      );
      try {
        await h104.waitFor(
          'the other etcd to answer',
          'ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:23790 put x y',
        );
        await h104.execOk(
          'ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:23790 snapshot save /tmp/other.db',
        );
      } finally {
        await h104.exec('kill $(cat /tmp/other.pid); rm -rf /tmp/other');
      }
      await h104.waitFor('the other etcd to be gone', '! kill -0 $(cat /tmp/other.pid) 2>/dev/null');
      const other = join(dir, 'other.db');
      writeFileSync(other, await fileOn('h104', '/tmp/other.db'));
      const o = await restore('other cluster', [other]);
      assert.equal(o.code, 1, o.stdout + o.stderr);
      await assertUnchanged(pids, o, /the snapshot may be another cluster's/);
      assert.match(
        o.stdout + o.stderr,
        /another cluster's: its members \(other http:\/\/127\.0\.0\.1:23800\)/,
      );
      assert.match(o.stdout + o.stderr, /re-run with --yes/);

      // No room: docker's snapshot folder on a tiny file system.
      const docker = lab.host('docker');
      await docker.execOk(
        'mkdir -p /var/lib/tskv/snapshots && mount -t tmpfs -o size=8k tmpfs /var/lib/tskv/snapshots',
      );
      try {
        const r = await restore('no room', [snapshot, '--yes']);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        await assertUnchanged(pids, r, /no room for the snapshot/);
        assert.match(
          r.stdout + r.stderr,
          /docker: \/var\/lib\/tskv\/snapshots has 0\.0 MB free; the snapshot's copy needs/,
        );
        for (const h of HOSTS) {
          assert.equal(await uploaded(h), '', `${h}: nothing uploaded`);
        }
      } finally {
        await docker.exec('umount /var/lib/tskv/snapshots');
      }
    });

    test('--dry-run shows the plan (what is rolled back) and changes nothing, its uploads removed', async () => {
      const pids = await etcdPids(lab);
      const r = await restore('dry run', [snapshot, '--dry-run']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /the cluster is at revision \d+, the snapshot at \d+/);
      assert.match(r.stdout, /snapshot the current data \(revision \d+\) on a healthy member/);
      assert.match(r.stdout, /h102: move .* aside/);
      assert.match(
        r.stdout,
        /docker: restore docker into .* \(revision \d+, token [^)]*-restored-\d{8}T\d{6}Z\)/,
      );
      assert.match(r.stdout, /dry run: nothing was changed/);
      assert.deepEqual(await etcdPids(lab), pids);
      for (const h of HOSTS) assert.equal(await uploaded(h), '', h);
    });

    test('disaster (etcd stopped, every data dir moved away), restore: 1,000 keys back, the later key absent, 3 healthy members', async () => {
      await client().put('later', 'written after the snapshot');
      const before = (await live!.members()).map((m) => m.id).sort();
      for (const h of HOSTS) {
        await live!.service(h, 'stop');
        await lab.host(h).execOk(`mv ${dataDirs.get(h)} /root/lost-data`);
      }
      const r = await restore('after the disaster', [snapshot, '--yes']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /no member answered, so the current revision is unknown/);
      // etcd 3.5 restores with etcdutl, 3.4 with etcdctl (each host's action line).
      const tool = minor === '3.4' ? 'etcdctl' : 'etcdutl';
      for (const h of HOSTS)
        assert.match(r.stderr, new RegExp(`${h}: restore ${h}'s data into .* \\(${tool}\\)`));
      assert.match(r.stdout, /restored: revision \d+ \(the snapshot's \d+\), 1000 keys, 3 members healthy/);
      await live!.waitAllHealthy();
      const c = client();
      assert.equal((await c.countKeys()).count, KEYS);
      assert.equal((await c.get('k/0999'))?.value, 'v999');
      assert.equal(await c.get('later'), undefined);
      const members = await live!.members();
      assert.deepEqual(members.map((m) => m.name).sort(), [...HOSTS].sort());
      const after = members.map((m) => m.id).sort();
      assert.notDeepEqual(after, before, 'a new initial-cluster-token gives new member IDs');
      for (const h of HOSTS) assert.equal(await uploaded(h), '', `${h}: the uploaded copy was removed`);
      const again = await deploy(inventory);
      assertDeployed(again);
      assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
    });

    test('on a running cluster: writes since the snapshot rolled back, every data dir kept aside', async () => {
      await client().put('after-restore', 'x');
      const r = await restore('on a running cluster', [snapshot, '--yes']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /revisions of writes since the snapshot are rolled back/);
      // The current data was snapshotted first, on the first healthy member (h102), and kept there.
      const taken =
        /cluster: snapshot of the current data \(revision \d+, \d+ bytes\) kept on h102 at (\S+\.db)/.exec(
          r.stderr,
        );
      assert.ok(taken, r.stderr);
      await lab.host('h102').execOk(`test -s ${taken[1]}`);
      await live!.waitAllHealthy();
      assert.equal(await client().get('after-restore'), undefined);
      assert.equal((await client().countKeys()).count, KEYS);
      for (const h of HOSTS) {
        const aside = await lab.host(h).execOk(`ls -d ${dataDirs.get(h)}.removed-*/member`);
        assert.equal(aside.trim().split('\n').length, 1, `${h}: one data dir moved aside`);
      }
    });

    test('a restore killed as the members start is finished by running it again', async () => {
      await client().put('before-the-kill', 'x');
      const killed = await tskv(['restore', inventory, snapshot, '--yes'], {
        seams: ['--before', 'start@docker', '--do', 'kill'],
        timeoutMs: 400_000,
      });
      assert.match(killed.stderr, /seam: \d+ start@docker/, killed.stdout + killed.stderr);
      const r = await restore('re-run after a kill', [snapshot, '--yes']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /restored: revision \d+ \(the snapshot's \d+\), 1000 keys, 3 members healthy/);
      await live!.waitAllHealthy();
      assert.equal(await client().get('before-the-kill'), undefined);
      assert.equal((await client().countKeys()).count, KEYS);
      for (const h of HOSTS)
        assert.doesNotMatch(await uploaded(h), /^restore-/m, `${h}: no uploaded copy left`);
    });
  });

/**
 * Rolling upgrades through `tskv deploy` on one lab (tests run in order, each leaving the cluster
 * healthy on the version it found or moved to): a change over a cluster not fully healthy refused,
 * a broken release rolled back on the first member of the roll, then 3.4 → 3.5 under a writer.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { EtcdClient } from '../../controller/etcd/index.ts';
import type { DeployResult } from '../../controller/plays/deploy.ts';
import type { LiveCluster } from '../../controller/plays/live-cluster.ts';
import type { EtcdTarball } from '../../lab/etcd-tarball.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { tskv } from './cli.ts';
import { assertDeployed, deploy, etcdPids } from './deploy-helpers.ts';
import { type Live, openLive, SequentialWriter } from './replace-helpers.ts';

const NAME = 'e2e-up';
const HOSTS = ['docker', 'h102', 'h104'];
const BROKEN = '3.4.99';

/**
 * A release `version` made of `base`'s programs, whose etcd answers `--version` as that version
 * and exits 1 on anything else (a release that installs but cannot run).
 */
function brokenTarball(base: EtcdTarball, version: string, dir: string): string {
  const work = mkdtempSync(join(tmpdir(), 'tskv-broken-'));
  try {
    execFileSync('tar', ['-xzf', base.path, '-C', work]);
    const from = `etcd-v${base.version}-linux-amd64`;
    const to = `etcd-v${version}-linux-amd64`;
    execFileSync('mv', [join(work, from), join(work, to)]);
    writeFileSync(
      join(work, to, 'etcd'),
      `#!/bin/sh\nif [ "$1" = "--version" ]; then\n  printf 'etcd Version: ${version}\\nGit SHA: broken\\nGo Version: go1.0\\nGo OS/Arch: linux/amd64\\n'\n  exit 0\nfi\necho "broken etcd ${version}: this release cannot start" >&2\nexit 1\n`,
      { mode: 0o755 },
    );
    const out = join(dir, `${to}.tar.gz`);
    execFileSync('tar', ['-czf', out, '-C', work, to]);
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Polls every member's /health through the controller's tunnels; remembers the most unhealthy at once. */
class HealthPoller {
  maxUnhealthy = 0;
  worst: string[] = [];
  rounds = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(live: LiveCluster, hosts: string[], everyMs = 150) {
    const clients = hosts.map((h) => ({ h, c: new EtcdClient(live.endpoint(h)!, { timeoutMs: 1500 }) }));
    this.done = (async () => {
      while (this.running) {
        const sick = (
          await Promise.all(
            clients.map(async ({ h, c }) =>
              (await c.health().then(
                (r) => r.healthy,
                () => false,
              ))
                ? []
                : [h],
            ),
          )
        ).flat();
        this.rounds++;
        if (sick.length > this.maxUnhealthy) {
          this.maxUnhealthy = sick.length;
          this.worst = sick;
        }
        await delay(everyMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/** What /usr/local/bin/etcd points at on each host. */
async function linked(lab: Lab): Promise<Record<string, string>> {
  const entries = await Promise.all(
    lab.hosts.map(async (h) => [h.name, (await h.execOk('readlink /usr/local/bin/etcd')).trim()] as const),
  );
  return Object.fromEntries(entries);
}

const upgradeRun = async (
  inventory: string,
): Promise<{ code: number | null; doc: DeployResult; stderr: string }> => {
  const r = await tskv(['deploy', inventory, '--yes', '--json'], { timeoutMs: 540_000 });
  return { code: r.code, doc: JSON.parse(r.stdout) as DeployResult, stderr: r.stderr };
};

describe('rolling upgrades through tskv deploy', { skip: labUnavailableReason() ?? false }, () => {
  let lab: Lab;
  let v34: EtcdTarball;
  let v35: EtcdTarball;
  let inv34: string;
  let inv35: string;
  let invBroken: string;
  let live: Live;
  before(async () => {
    lab = await Lab.up({ name: NAME, hosts: HOSTS, fresh: true });
    [v34, v35] = [await lab.etcdTarball('3.4'), await lab.etcdTarball('3.5')];
    inv34 = lab.writeInventory({ etcd: { version: v34.version, source: v34.path } }, 'v34.yaml');
    inv35 = lab.writeInventory({ etcd: { version: v35.version, source: v35.path } }, 'v35.yaml');
    const broken = brokenTarball(v34, BROKEN, lab.layout.dir);
    invBroken = lab.writeInventory({ etcd: { version: BROKEN, source: broken } }, 'broken.yaml');
    assertDeployed(await deploy(inv34));
    live = await openLive(inv34);
  });
  after(async () => {
    await live?.close();
    await Lab.down(NAME);
  });

  test('a version change while a member is down is refused before anything changes', async () => {
    await live.service('h104', 'stop');
    const pids = await etcdPids(lab);
    const links = await linked(lab);
    const run = await upgradeRun(inv35);
    assert.equal(run.code, 1, JSON.stringify(run.doc.error));
    assert.equal(run.doc.error?.code, 'E_UNHEALTHY', run.doc.error?.message);
    assert.match(run.doc.error!.message, /not changing etcd 3\.4\.\d+ → 3\.5\.\d+: h104 \(/);
    assert.deepEqual(run.doc.steps, []);
    assert.deepEqual(await etcdPids(lab), pids, 'nothing restarted');
    assert.deepEqual(await linked(lab), links, 'nothing relinked');
    await live.service('h104', 'start');
    await live.waitAllHealthy();
  });

  test('a release that cannot start: the first member of the roll is back on the old version, the others untouched', async () => {
    const pids = await etcdPids(lab);
    const run = await upgradeRun(invBroken);
    assert.equal(run.code, 1, JSON.stringify(run.doc, null, 1).slice(0, 3000));
    const err = run.doc.error!;
    assert.equal(err.code, 'E_UPGRADE_FAILED', err.message);
    const first = run.doc.plan!.restarts[0]!;
    assert.notEqual(first, run.doc.plan!.leader, 'a follower goes first');
    assert.equal(err.host, first);
    assert.match(
      err.message,
      new RegExp(`${first} did not come up on etcd ${BROKEN}; it runs etcd ${v34.version} again`),
    );
    assert.match(err.message, /broken etcd 3\.4\.99: this release cannot start/, 'its log lines');
    const links = await linked(lab);
    for (const h of HOSTS)
      assert.match(links[h]!, new RegExp(`/v${v34.version.replaceAll('.', '\\.')}/etcd$`), h);
    const after = await etcdPids(lab);
    for (const h of HOSTS.filter((x) => x !== first)) assert.equal(after[h], pids[h], `${h} untouched`);
    assert.notEqual(after[first], pids[first]);
    await live.waitAllHealthy();
    assert.match(
      (await lab.host(first).execOk('ls /opt/tskv/etcd')).trim(),
      new RegExp(`v${BROKEN.replaceAll('.', '\\.')}`),
      'staged beside the old one',
    );
  });

  test('3.4 → 3.5 one member at a time under a writer: no write lost, never two members down, cluster version 3.5; a re-run changes nothing', async () => {
    const writer = new SequentialWriter(live.live.cluster(), 'upgrade', 10);
    const poller = new HealthPoller(live.live, HOSTS);
    let run: Awaited<ReturnType<typeof upgradeRun>>;
    try {
      await writer.acknowledgesMore(20);
      run = await upgradeRun(inv35);
      await writer.acknowledgesMore(20);
    } finally {
      await poller.stop();
      await writer.stop();
    }
    assert.equal(run.code, 0, `${JSON.stringify(run.doc.error, null, 1)}\n${run.stderr.slice(-3000)}`);
    const plan = run.doc.plan!;
    assert.equal(
      plan.upgrade,
      `upgrade etcd ${v34.version} → ${v35.version}: followers first, the leader last after moving leadership`,
    );
    assert.equal(plan.restarts.at(-1), plan.leader, 'the leader last');
    assert.deepEqual(
      plan.steps.filter((s) => s.host === undefined || s.kind !== 'install').map((s) => s.kind),
      ['snapshot', 'restart', 'restart', 'restart'],
    );
    assert.ok(
      run.doc.actions[plan.leader!]?.some((a) => /^leadership moved from /.test(a)),
      JSON.stringify(run.doc.actions),
    );
    assert.ok(
      run.doc.verify!.members.every((m) => m.version === v35.version),
      JSON.stringify(run.doc.verify),
    );
    assert.match(run.doc.verify!.clusterVersion, /^3\.5\./);
    assert.deepEqual(await writer.lost(), []);
    assert.ok(poller.rounds > 20, `polled ${poller.rounds} times`);
    assert.ok(poller.maxUnhealthy <= 1, `unhealthy at once: ${poller.worst.join(', ')}`);
    const pids = await etcdPids(lab);
    const again = await deploy(inv35);
    assertDeployed(again);
    assert.equal(again.doc.summary, 'nothing to do: 3 hosts converged');
    assert.deepEqual(await etcdPids(lab), pids);
    const status = await tskv(['status', inv35]);
    assert.match(status.stdout, /cluster version 3\.5\.0/);
  });

  test('back to 3.4 once the cluster runs 3.5 is refused before anything changes', async () => {
    const pids = await etcdPids(lab);
    const links = await linked(lab);
    const run = await upgradeRun(inv34);
    assert.equal(run.code, 1, JSON.stringify(run.doc.error));
    assert.equal(run.doc.error?.code, 'E_VERSION_CHANGE', run.doc.error?.message);
    assert.match(run.doc.error!.message, /minor-version downgrade/);
    assert.match(run.doc.error!.fix ?? '', /keep etcd\.version at 3\.5\.x/);
    assert.deepEqual(run.doc.steps, []);
    assert.deepEqual(await etcdPids(lab), pids, 'nothing restarted');
    assert.deepEqual(await linked(lab), links, 'nothing relinked');
  });
});

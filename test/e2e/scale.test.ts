/**
 * Scaling by editing the inventory and running deploy (TLS on, etcd 3.4): 3 → 5 members with a
 * client writing throughout, existing members not restarted; then two of the original hosts
 * removed, the leader's among them: refused without --yes, done with it (every key present, the
 * removed hosts' etcd stopped and data dirs moved aside); a re-run changes nothing. Also the
 * printed order of a swap (dry run), and a removal refused when it would leave no healthy majority.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadInventory } from '../../controller/inventory/load.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { assertDeployed, deploy, etcdPids } from './deploy-helpers.ts';
import { deployedLab, type Live, names, openLive, SequentialWriter, tskv } from './replace-helpers.ts';
import { killedAt } from './sweep.ts';

const NAME = 'e2e-sc';
const HOSTS = ['h102', 'docker', 'h104', 'h105', 'h106'];
const ORIGINAL = HOSTS.slice(0, 3);

describe('deploy scales the cluster to the inventory', { skip: labUnavailableReason() ?? false }, () => {
  let lab: Lab;
  let all: string;
  let three: string;
  let live: Live;
  let etcd: { version: string; source: string };
  /** The host whose sshd a test killed: no later test uses it. */
  let unreachable: string | undefined;

  before(async () => {
    ({ lab, all, three } = await deployedLab(NAME, HOSTS));
    const inv = await loadInventory(three);
    etcd = { version: inv.etcd.version, source: inv.etcd.source };
    live = await openLive(all);
  });
  after(async () => {
    await live?.close();
    await Lab.down(NAME);
  });

  /** An inventory of the lab's hosts without `removed`. */
  const without = (removed: string[], file: string) =>
    lab.writeInventory({ etcd, hosts: Object.fromEntries(removed.map((h) => [h, null])) }, file);

  test('dry run of a swap prints the order: snapshot → add → remove, and why', async () => {
    const swap = without(['h102', 'h106'], 'swap.yaml');
    const r = await tskv(['deploy', swap, '--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /h105 \(no etcd, stopped\):[\s\S]*- add h105 \(https:\/\/\S+:2380\) to the cluster as a learner/,
    );
    assert.match(
      r.stdout,
      /h102 \(member at \S+, not in the inventory: leaving the cluster\):\n\s+- let h105 in on h102's firewall \(\S+, over SSH\)[^\n]*\n\s+- move leadership/,
    );
    assert.match(
      r.stdout,
      /order: snapshot → add h105 \(one at a time: learner, caught up, promoted\) → remove h102 \(one at a time, the leader last\); adding first keeps the cluster larger/,
    );
    assert.deepEqual(names(await live.members()), ['docker', 'h102', 'h104']);
  });

  test('3 → 5: two hosts added join one at a time under writes (killed twice mid-way, resumed); the others keep running', async () => {
    const pids = await etcdPids(lab);
    const writer = new SequentialWriter(live.live.cluster(), 'sc-up', 20);
    await writer.acknowledgesMore(20);
    // Killed with h105 started but not promoted: the re-run promotes it, then adds h106 ...
    await killedAt(['deploy', all, '--yes'], { before: 'member-promote@h105' });
    let learners = (await live.members()).filter((m) => m.isLearner);
    assert.deepEqual(names(learners), ['h105']);
    // ... and is killed with h106 added but not started: the last run starts and promotes it.
    await killedAt(['deploy', all, '--yes'], { before: 'member-start@h106' });
    learners = (await live.members()).filter((m) => m.isLearner);
    assert.deepEqual(
      learners.map((m) => m.started),
      [false],
    );
    const run = await deploy(all, ['--yes']);
    await writer.acknowledgesMore(20);
    await writer.stop();
    assertDeployed(run);
    assert.deepEqual(run.doc.plan?.adds, ['h106']);
    assert.deepEqual(
      run.doc.steps.filter((s) => s.host === 'h106' && s.kind.startsWith('member-')).map((s) => s.kind),
      ['member-start', 'member-caught-up', 'member-promote'],
    );
    assert.match(run.doc.plan?.order ?? '', /^order: add h106/);
    const members = await live.members();
    assert.deepEqual(names(members), ['docker', 'h102', 'h104', 'h105', 'h106']);
    assert.ok(
      members.every((m) => !m.isLearner && m.started),
      'five voting members',
    );
    assert.deepEqual(await writer.lost(), [], `${writer.acknowledged.length} writes acknowledged`);
    const now = await etcdPids(lab);
    for (const h of ORIGINAL) assert.equal(now[h], pids[h], `${h} was not restarted`);
  });

  test("two original hosts removed, the leader's among them: --yes needed, the leader last, hosts retired (killed before one retirement, resumed), a re-run changes nothing", async () => {
    const view = await live.live.view();
    const leader = view.members.find((m) => m.id === view.leaderId)?.name;
    assert.ok(leader && ORIGINAL.includes(leader), `the leader (${leader}) is one of the original hosts`);
    const removed = [leader, ORIGINAL.find((h) => h !== leader)!];
    const staying = HOSTS.filter((h) => !removed.includes(h));
    const smaller = without(removed, 'smaller.yaml');

    const refused = await deploy(smaller);
    assert.equal(refused.result.code, 1);
    assert.equal(refused.doc.error?.code, 'E_NOT_CONFIRMED', JSON.stringify(refused.doc.error));
    assert.equal(names(await live.members()).length, 5, 'nothing changed');

    const writer = new SequentialWriter(live.live.cluster(), 'sc-down', 20);
    await writer.acknowledgesMore(20);
    // Killed after the first removal, before its host was retired: the re-run retires it.
    await killedAt(['deploy', smaller, '--yes'], { before: `member-retire@${removed[1]}` });
    assert.equal(names(await live.members()).length, 4);
    const run = await deploy(smaller, ['--yes']);
    await writer.acknowledgesMore(20);
    await writer.stop();
    assertDeployed(run);
    assert.deepEqual(run.doc.plan?.removes, [removed[0]], 'the leader, left for the re-run');
    assert.deepEqual(
      run.doc.steps.filter((s) => s.kind === 'member-retire').map((s) => s.host),
      [removed[1], removed[0]],
    );
    assert.ok(
      run.doc.steps.some((s) => s.kind === 'snapshot'),
      'a snapshot first',
    );
    assert.deepEqual(names(await live.members()), staying);
    assert.deepEqual(await writer.lost(), [], `${writer.acknowledged.length} writes acknowledged`);
    assert.deepEqual(run.doc.notCleaned, []);
    const inv = await loadInventory(three);
    for (const h of removed) {
      const dataDir = inv.hosts.find((x) => x.name === h)!.dataDir;
      const host = lab.host(h);
      assert.equal((await host.exec('pgrep -x etcd || true')).stdout.trim(), '', `etcd stopped on ${h}`);
      assert.equal((await host.exec(`test -e ${dataDir} && echo yes || echo no`)).stdout.trim(), 'no');
      const aside = (await host.execOk(`ls -d ${dataDir}.removed-* 2>/dev/null || true`)).trim();
      assert.ok(aside, `${h}: ${dataDir} moved aside`);
      assert.equal(
        (await host.exec(`test -d ${aside.split('\n')[0]}/member && echo yes`)).stdout.trim(),
        'yes',
      );
    }

    const again = await deploy(smaller, ['--yes']);
    assertDeployed(again);
    assert.match(again.doc.summary, /^nothing to do/, JSON.stringify(again.doc.plan?.steps, null, 1));
  });

  test('a removal that would leave no healthy majority is refused before anything changes', async () => {
    const members = names(await live.members());
    assert.equal(members.length, 3);
    const [down, removed] = [members[0]!, members[1]!];
    await live.service(down, 'stop');
    try {
      const fewer = without([...HOSTS.filter((h) => !members.includes(h)), removed], 'fewer.yaml');
      const run = await deploy(fewer, ['--yes']);
      assert.equal(run.result.code, 1);
      assert.equal(run.doc.error?.code, 'E_REFUSED', JSON.stringify(run.doc.error));
      assert.match(run.doc.error?.message ?? '', /short of a majority of 2 \(not healthy: /);
      assert.deepEqual(names(await live.members()), members, 'nothing changed');
    } finally {
      await live.service(down, 'start');
      await live.waitAllHealthy();
    }
  });

  test('a removed host that cannot be reached: the member is still removed, the result says its host was not cleaned', async () => {
    const members = names(await live.members());
    const gone = members[0]!;
    await lab.host(gone).exec('pkill -x sshd || true');
    unreachable = gone;
    const two = without([...HOSTS.filter((h) => !members.includes(h)), gone], 'two.yaml');
    const run = await deploy(two, ['--yes']);
    assertDeployed(run);
    assert.deepEqual(run.doc.notCleaned, [gone]);
    assert.match(run.doc.plan?.warnings?.[0] ?? '', /^2 members tolerate no more failures than 1/);
    assert.deepEqual(names(await live.members()), members.slice(1));
  });

  test('one edit with a swap, two new hosts and a version bump: adds first, then the upgrade, then the removal (killed once the leaving host let the joiners in, resumed); no write lost, a re-run changes nothing', async () => {
    const v35 = await lab.etcdTarball('3.5');
    const members = names(await live.members());
    assert.equal(members.length, 2, members.join());
    const [leaving, staying] = [members[0]!, members[1]!];
    const joining = HOSTS.filter((h) => !members.includes(h) && h !== unreachable);
    assert.equal(joining.length, 2, joining.join());
    const inv = lab.writeInventory(
      {
        etcd: { version: v35.version, source: v35.path },
        hosts: Object.fromEntries([leaving, unreachable!].map((h) => [h, null])),
      },
      'combined.yaml',
    );
    const writer = new SequentialWriter(live.live.cluster(), 'sc-mix', 20);
    await writer.acknowledgesMore(20);
    /** The leaving member's firewall lets each joining host in on the peer port (a rich rule per address). */
    const assertLetIn = async () => {
      const rules = await lab.host(leaving).execOk('firewall-cmd --list-rich-rules');
      for (const h of joining) {
        const source = `${lab.host(h).address}/32`.replaceAll('.', '\\.');
        assert.match(rules, new RegExp(`source address="${source}" port port="2380"`), rules);
      }
    };
    // Killed right after the let-in, before the first add: the re-run lets them in again (no
    // change) and goes on.
    await killedAt(['deploy', inv, '--yes'], { before: `member-add@${joining[0]}` });
    await assertLetIn();
    assert.deepEqual(names(await live.members()), members, 'nothing added before the kill');
    const run = await deploy(inv, ['--yes']);
    await writer.acknowledgesMore(20);
    await writer.stop();
    assertDeployed(run);
    const plan = run.doc.plan!;
    assert.deepEqual(
      plan.steps
        .filter((s) =>
          ['snapshot', 'member-let-in', 'member-add', 'restart', 'member-remove'].includes(s.kind),
        )
        .map((s) => (s.kind === 'snapshot' ? s.kind : `${s.kind}@${s.host}`)),
      [
        'snapshot',
        `member-let-in@${leaving}`,
        ...joining.map((h) => `member-add@${h}`),
        `restart@${staying}`,
        `member-remove@${leaving}`,
      ],
    );
    assert.match(plan.order ?? '', /^order: snapshot → add .+ → .+ → remove /);
    assert.match(plan.upgrade ?? '', /^upgrade etcd 3\.4\.\d+ → 3\.5\.\d+/);
    assert.deepEqual(names(await live.members()), [staying, ...joining].sort());
    assert.ok(
      run.doc.verify!.members.every((m) => m.version === v35.version),
      JSON.stringify(run.doc.verify),
    );
    assert.match(run.doc.verify!.clusterVersion, /^3\.5\./);
    assert.deepEqual(await writer.lost(), [], `${writer.acknowledged.length} writes acknowledged`);
    // The leaving member's firewall let the joining hosts in (its host is not in the inventory):
    // without it they cannot reach it, and etcd refuses adds as "unhealthy cluster" when asked there.
    await assertLetIn();
    const again = await deploy(inv);
    assertDeployed(again);
    assert.match(again.doc.summary, /^nothing to do/);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decideClusterMode } from '../../../../controller/ops/cluster-mode.ts';
import { type DeployStep, planDeploy, stepsOf } from '../../../../controller/ops/deploy-plan.ts';
import {
  judgeUpgrade,
  type MemberVersion,
  memberVersions,
  minorOfVersion,
} from '../../../../controller/ops/upgrade-plan.ts';
import { formatPlan } from '../../../../controller/plan/print.ts';
import { convergedHost, exposureOf, facts, member, seedInventory } from './deploy-fixtures.ts';

const ok = (host: string, version: string | undefined): MemberVersion => ({
  host,
  version,
  healthy: true,
  learner: false,
  detail: 'healthy',
});
const three = (...versions: (string | undefined)[]) => versions.map((v, i) => ok(`h${i + 1}`, v));

describe('judgeUpgrade', () => {
  const cases: {
    name: string;
    target: string;
    members: MemberVersion[];
    want?: { from: string; to: string };
    refused?: { code: string; message: RegExp };
  }[] = [
    {
      name: 'every member on the target: nothing to roll',
      target: '3.5.30',
      members: three('3.5.30', '3.5.30', '3.5.30'),
    },
    {
      name: 'one minor up',
      target: '3.5.30',
      members: three('3.4.23', '3.4.23', '3.4.23'),
      want: { from: '3.4.23', to: '3.5.30' },
    },
    {
      name: 'a patch release',
      target: '3.4.99',
      members: three('3.4.23', '3.4.23', '3.4.23'),
      want: { from: '3.4.23', to: '3.4.99' },
    },
    {
      name: 'a roll that stopped half way resumes (the inventory explains the new version)',
      target: '3.5.30',
      members: three('3.5.30', '3.4.23', '3.4.23'),
      want: { from: '3.4.23', to: '3.5.30' },
    },
    {
      name: 'a patch downgrade within the minor is one etcd supports',
      target: '3.5.16',
      members: three('3.5.30', '3.5.30', '3.5.30'),
      want: { from: '3.5.30', to: '3.5.16' },
    },
    {
      name: 'skipping a minor',
      target: '3.6.1',
      members: three('3.4.23', '3.4.23', '3.4.23'),
      refused: { code: 'E_VERSION_CHANGE', message: /h1 runs etcd 3\.4\.23 .* skip of a minor version/ },
    },
    {
      name: 'skipping a minor, judged on the cluster: one member behind the rest',
      target: '3.6.1',
      members: three('3.5.30', undefined, '3.4.23').filter((m) => m.version !== '3.5.30'),
      refused: { code: 'E_VERSION_CHANGE', message: /h3 runs etcd 3\.4\.23/ },
    },
    {
      name: 'a minor downgrade',
      target: '3.4.23',
      members: three('3.5.30', '3.5.30', '3.5.30'),
      refused: { code: 'E_VERSION_CHANGE', message: /minor-version downgrade/ },
    },
    {
      name: 'two versions other than the inventory says',
      target: '3.5.30',
      members: three('3.4.23', '3.5.1', '3.5.30'),
      refused: {
        code: 'E_MIXED_VERSIONS',
        message: /3\.4\.23 \(h1\) and 3\.5\.1 \(h2\), and the inventory says 3\.5\.30/,
      },
    },
    {
      name: 'a member not healthy',
      target: '3.5.30',
      members: [
        ok('h1', '3.4.23'),
        ok('h2', '3.4.23'),
        { ...ok('h3', '3.4.23'), healthy: false, detail: 'unhealthy: no leader' },
      ],
      refused: {
        code: 'E_UNHEALTHY',
        message: /h3 \(unhealthy: no leader\); a version change rolls only over a fully healthy cluster/,
      },
    },
    {
      name: 'a member down, its version from its host',
      target: '3.5.30',
      members: [
        ok('h1', '3.4.23'),
        ok('h2', '3.4.23'),
        { ...ok('h3', undefined), healthy: false, detail: 'does not answer' },
      ],
      refused: { code: 'E_UNHEALTHY', message: /h3 \(does not answer\)/ },
    },
    {
      name: 'a learner',
      target: '3.5.30',
      members: [ok('h1', '3.4.23'), ok('h2', '3.4.23'), { ...ok('h4', '3.4.23'), learner: true }],
      refused: { code: 'E_UNHEALTHY', message: /h4 \(a learner\)/ },
    },
    {
      name: "a member unhealthy without a version change: not this check's business",
      target: '3.4.23',
      members: [ok('h1', '3.4.23'), { ...ok('h2', '3.4.23'), healthy: false }],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      if (c.refused) assert.throws(() => judgeUpgrade(c.target, c.members), c.refused);
      else assert.deepEqual(judgeUpgrade(c.target, c.members), c.want);
    });
  }
});

test('memberVersions: what the member runs, else what its host has installed', () => {
  const probe = (host: string | undefined, version: string | undefined) => ({
    member: { name: host ?? '', idHex: 'abc', isLearner: false },
    host,
    health: { healthy: version !== undefined, detail: version ? 'healthy' : 'does not answer' },
    status: version ? { version } : undefined,
  });
  const installed = new Map([
    ['h1', '3.5.30'],
    ['h2', '3.4.23'],
  ]);
  assert.deepEqual(
    memberVersions(
      [probe('h1', '3.4.23'), probe('h2', undefined), probe(undefined, undefined)],
      installed,
    ).map((m) => [m.host, m.version]),
    [
      ['h1', '3.4.23'],
      ['h2', '3.4.23'],
      ['abc', undefined],
    ],
  );
  assert.equal(minorOfVersion('3.5.17'), '3.5');
});

describe('planDeploy: a rolling upgrade', () => {
  const names = ['docker', 'h102', 'h104'];
  async function plan(onTarget: string[], stopped: string[] = [], runsOld: string[] = []) {
    const inv = await seedInventory((i) => {
      i.etcd.version = '3.5.30';
    });
    const old = await seedInventory();
    const hosts = names.map((n) => {
      const h = convergedHost(old, n);
      const version = onTarget.includes(n) ? '3.5.30' : '3.4.23';
      return {
        ...h,
        facts: facts({ installed: version, hasData: true }),
        running: !stopped.includes(n),
        pid: stopped.includes(n) ? null : 100,
        ...(runsOld.includes(n) ? { memberVersion: '3.4.23' } : {}),
      };
    });
    const decision = decideClusterMode(
      inv,
      hosts.map((h) => ({ name: h.spec.name, running: h.running, hasData: true, strayPids: [] })),
      names.map((n) => member(inv, n)),
      { allowExistingData: false },
    );
    return planDeploy({
      inv,
      hosts,
      decision,
      leader: 'docker',
      exposure: exposureOf(inv),
      snapshot: { keep: 3 },
    });
  }

  test('staged side by side, then one member at a time: snapshot first, followers, the leader last', async () => {
    const p = await plan([]);
    assert.deepEqual(
      p.steps.map((s) => `${s.kind} ${s.host ?? ''}`.trim()),
      [
        'install docker',
        'install h102',
        'install h104',
        'snapshot docker',
        'restart h102',
        'restart h104',
        'restart docker',
      ],
    );
    for (const s of p.steps.filter((x) => x.kind === 'install')) {
      assert.equal((s as Extract<DeployStep, { kind: 'install' }>).stage, true);
      assert.equal(s.title, "stage etcd 3.5.30 beside 3.4.23 (linked at this member's restart)");
    }
    const restart = stepsOf(p, 'docker').at(-1) as Extract<DeployStep, { kind: 'restart' }>;
    assert.deepEqual(restart.switch, { from: '3.4.23', to: '3.5.30' });
    assert.match(
      restart.title,
      /^switch to etcd 3\.5\.30 and restart; healthy and caught up .* \(back to 3\.4\.23 if not\)$/,
    );
    assert.equal(
      p.upgrade,
      'upgrade etcd 3.4.23 → 3.5.30: followers first, the leader last after moving leadership',
    );
    const text = formatPlan(p);
    assert.match(text, /restart order: h102 → h104 → docker/);
    assert.match(
      text,
      /^ {2}upgrade etcd 3\.4\.23 → 3\.5\.30: followers first, the leader last after moving leadership$/m,
    );
  });

  test('a re-run after h102 moved: h102 is left alone, the roll resumes', async () => {
    const p = await plan(['h102']);
    assert.deepEqual(stepsOf(p, 'h102'), []);
    assert.deepEqual(p.restarts, ['h104', 'docker']);
  });

  test('a member linked to the new version but still running the old one (an older run relinked first) switches at its restart', async () => {
    const p = await plan(['h102'], [], ['h102']);
    const h102 = stepsOf(p, 'h102');
    assert.deepEqual(
      h102.map((s) => s.kind),
      ['restart'],
    );
    assert.deepEqual((h102[0] as Extract<DeployStep, { kind: 'restart' }>).switch, {
      from: '3.4.23',
      to: '3.5.30',
    });
  });

  test('every member moved: nothing to do, no upgrade line', async () => {
    const p = await plan(names);
    assert.deepEqual(p.steps, []);
    assert.equal(p.upgrade, undefined);
  });

  test('a stopped member is installed and linked as before, then started', async () => {
    const p = await plan([], ['h104']);
    const h104 = stepsOf(p, 'h104');
    assert.deepEqual(
      h104.map((s) => s.kind),
      ['install', 'start'],
    );
    assert.equal((h104[0] as Extract<DeployStep, { kind: 'install' }>).stage, undefined);
    assert.match(h104[0]!.title, /^install etcd 3\.5\.30 at \/usr\/local\/bin\/etcd \(replacing 3\.4\.23\)$/);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TskvError } from '../../../../controller/errors.ts';
import type { EtcdMember } from '../../../../controller/etcd/index.ts';
import { decideClusterMode } from '../../../../controller/ops/cluster-mode.ts';
import type { ClusterView } from '../../../../controller/ops/cluster-view.ts';
import { planDeploy } from '../../../../controller/ops/deploy-plan.ts';
import {
  explainDrift,
  orderNote,
  planScale,
  type ScaleStep,
  sizeWarnings,
} from '../../../../controller/ops/scale-plan.ts';
import { formatPlan } from '../../../../controller/plan/print.ts';
import * as dep from './deploy-fixtures.ts';
import { inventory, member, seedMembers, view } from './membership-fixtures.ts';

/** Steps as "host kind", the way the cases below read. */
const lines = (steps: ScaleStep[]) => steps.map((s) => `${s.host} ${s.kind}`);
const notLate = () => false;

function plan(hosts: string[], members: EtcdMember[], options: { sick?: string[]; leader?: string } = {}) {
  const inv = inventory(hosts);
  const { scale, problems } = explainDrift(inv, members, notLate);
  assert.deepEqual(problems, []);
  return planScale({ inv, drift: scale, view: view(members, options), running: new Set(hosts) });
}

const join = (h: string) => [
  `${h} member-add`,
  `${h} member-start`,
  `${h} member-caught-up`,
  `${h} member-promote`,
];
const leave = (h: string) => [`${h} member-lead-away`, `${h} member-remove`, `${h} member-retire`];

describe('planScale', () => {
  const cases: {
    name: string;
    hosts: string[];
    members: () => EtcdMember[];
    leader?: string;
    adds: string[];
    removes: string[];
    warnings: RegExp[];
  }[] = [
    {
      name: 'two hosts added: each joins alone (learner, start, caught up, promote), in inventory order',
      hosts: ['h102', 'docker', 'h104', 'h105', 'h106'],
      members: seedMembers,
      adds: [...join('h105'), ...join('h106')],
      removes: [],
      warnings: [],
    },
    {
      name: 'one host removed: leadership moved away, removed, its host retired; 2 members warned',
      hosts: ['h102', 'docker'],
      members: seedMembers,
      adds: [],
      removes: leave('h104'),
      warnings: [/^2 members tolerate no more failures than 1/],
    },
    {
      name: 'the leader and another removed: the leader last; adds first',
      hosts: ['docker', 'h105', 'h106'],
      members: seedMembers,
      leader: 'h102',
      adds: [...join('h105'), ...join('h106')],
      removes: [...leave('h104'), ...leave('h102')],
      warnings: [],
    },
    {
      name: 'a learner a killed run left unpromoted is promoted first (one learner at a time), then the next joins',
      hosts: ['h102', 'docker', 'h104', 'h105', 'h106'],
      members: () => [...seedMembers(), member('h106', { learner: true })],
      adds: ['h106 member-caught-up', 'h106 member-promote', ...join('h105')],
      removes: [],
      warnings: [],
    },
    {
      name: 'an add a killed run left unstarted resumes at its start',
      hosts: ['h102', 'docker', 'h104', 'h105'],
      members: () => [...seedMembers(), member('h105', { unstarted: true, learner: true })],
      adds: ['h105 member-start', 'h105 member-caught-up', 'h105 member-promote'],
      removes: [],
      warnings: [/^4 members/],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const p = plan(c.hosts, c.members(), c.leader ? { leader: c.leader } : {});
      assert.deepEqual(lines(p.adds), c.adds);
      assert.deepEqual(lines(p.removes), c.removes);
      assert.equal(p.warnings.length, c.warnings.length, p.warnings.join('\n'));
      for (const [i, w] of c.warnings.entries()) assert.match(p.warnings[i]!, w);
    });
  }

  test('with TLS on, a swap first lets the joining hosts in on each leaving host (its firewall admits only members); only a swap does', () => {
    const inv = inventory(['docker', 'h105', 'h106'], { tls: true });
    const members = seedMembers();
    const { scale } = explainDrift(inv, members, notLate);
    const p = planScale({ inv, drift: scale, view: view(members, { leader: 'h102' }), running: new Set() });
    assert.deepEqual(lines(p.adds), [
      'h104 member-let-in',
      'h102 member-let-in',
      ...join('h105'),
      ...join('h106'),
    ]);
    assert.match(p.adds[0]!.title, /^let h105, h106 in on h104's firewall \(192\.168\.100\.104, over SSH\)/);
    const grow = inventory(['h102', 'docker', 'h104', 'h105'], { tls: true });
    const onlyAdds = planScale({
      inv: grow,
      drift: explainDrift(grow, members, notLate).scale,
      view: view(members),
      running: new Set(),
    });
    assert.deepEqual(lines(onlyAdds.adds), join('h105'));
  });

  test("the leader's removal says it leads; the retire step names the member's address and data dir", () => {
    const p = plan(['docker', 'h104'], seedMembers(), { leader: 'h102' });
    assert.match(p.removes[0]!.title, /^move leadership from h102 \(it leads\)/);
    assert.match(
      p.removes[2]!.title,
      /^stop etcd on h102 \(192\.168\.100\.102, over SSH\) and move \S+ aside/,
    );
    assert.deepEqual(p.leaving, [{ name: 'h102', address: '192.168.100.102' }]);
  });

  test('a member an earlier run removed but whose host it did not retire (killed in between): the re-run retires the host', () => {
    const inv = inventory(['h102', 'docker']);
    const members = [member('h102'), member('docker')];
    const recorded = [
      { name: 'h104', address: '192.168.100.104', dataDirs: ['/var/lib/etcd/h104'] },
      { name: 'h106', address: '192.168.100.106', dataDirs: ['/var/lib/etcd/h106'] },
    ];
    const { scale } = explainDrift(inv, members, notLate);
    const p = planScale({ inv, drift: scale, view: view(members), running: new Set(), recorded });
    assert.deepEqual(lines(p.removes), ['h104 member-retire', 'h106 member-retire']);
    assert.deepEqual(p.removing, []);
    // Still a member (the removal itself did not happen): removed and retired as any leaving member.
    const still = [...members, member('h104')];
    const again = planScale({
      inv,
      drift: explainDrift(inv, still, notLate).scale,
      view: view(still),
      running: new Set(),
      recorded,
    });
    assert.deepEqual(lines(again.removes), ['h106 member-retire', ...leave('h104')]);
  });

  const refusals: { name: string; hosts: string[]; sick: string[]; refused: RegExp | undefined }[] = [
    {
      name: 'one member down and another removed of 3: no healthy majority left, refused',
      hosts: ['docker', 'h104'],
      sick: ['h104'],
      refused:
        /^removing h102 would leave 1 healthy of 2 voting members, short of a majority of 2 \(not healthy: h104\); nothing was changed/,
    },
    {
      name: 'the member that is down is the one removed: allowed',
      hosts: ['h102', 'docker'],
      sick: ['h104'],
      refused: undefined,
    },
    {
      name: 'hosts joining count once they are promoted: 3 → 5 → 4 with one down is allowed',
      hosts: ['docker', 'h104', 'h105', 'h106'],
      sick: ['h104'],
      refused: undefined,
    },
  ];
  for (const r of refusals) {
    test(r.name, () => {
      const run = () => plan(r.hosts, seedMembers(), { sick: r.sick });
      if (!r.refused) return void run();
      assert.throws(run, (err: unknown) => {
        assert.ok(err instanceof TskvError);
        assert.equal(err.code, 'E_REFUSED');
        assert.match(err.message, r.refused!);
        return true;
      });
    });
  }

  test('size warnings: an even size, more than 7 members', () => {
    assert.deepEqual(sizeWarnings(3), []);
    assert.match(sizeWarnings(4)[0]!, /^4 members tolerate no more failures than 3 \(1 either way\)/);
    const eight = sizeWarnings(8);
    assert.equal(eight.length, 2);
    assert.match(eight[1]!, /^8 members: etcd recommends at most 7/);
    assert.deepEqual(sizeWarnings(9).length, 1);
  });

  test('drift the inventory does not explain stays a problem: a renamed member, a peer URL that moved', () => {
    const inv = inventory(['h102', 'docker', 'h104']);
    const renamed = [member('h102'), member('docker'), { ...member('h104'), name: 'old-h104' }];
    assert.deepEqual(
      explainDrift(inv, renamed, notLate).problems.map((p) => p.kind),
      ['renamed'],
    );
    const moved = [member('h102'), member('docker'), member('h104', { address: '192.168.100.99' })];
    const { scale, problems } = explainDrift(inv, moved, notLate);
    assert.deepEqual(
      problems.map((p) => p.kind),
      ['peer-url-differs'],
    );
    assert.deepEqual(scale.leaves, []);
  });

  test('the order note: snapshot → adds → restarts → removes, with the reason', () => {
    assert.equal(orderNote({ snapshot: false, adding: [], restarts: ['a'], removing: [] }), undefined);
    assert.equal(
      orderNote({ snapshot: true, adding: ['h105'], restarts: ['docker'], removing: ['h104'] }),
      'order: snapshot → add h105 (one at a time: learner, caught up, promoted) → restart docker → remove h104 (one at a time, the leader last); adding first keeps the cluster larger (it tolerates more failures) while members restart; removing last means no member leaves before the ones joining serve',
    );
  });
});

describe('planDeploy with a membership change', () => {
  test('one host swapped for another, and a restart: snapshot → add → restart → remove, printed with the order', async () => {
    const inv = await dep.seedInventory((i) => {
      const docker = i.hosts.find((h) => h.name === 'docker')!;
      i.hosts = [
        ...i.hosts.filter((h) => h.name !== 'h104'),
        { ...docker, name: 'h105', address: '192.168.100.105', dataDir: '/var/lib/etcd/h105.etcd' },
      ];
    });
    const members = ['docker', 'h102'].map((n) => dep.member(inv, n));
    const seed = await dep.seedInventory();
    const h104 = dep.member(seed, 'h104');
    const all = [...members, h104];
    const hosts = [
      { ...dep.convergedHost(inv, 'docker'), stale: 'a new etcd binary' },
      dep.convergedHost(inv, 'h102'),
      dep.bareHost(inv, 'h105'),
    ];
    const decision = decideClusterMode(
      inv,
      hosts.map((h) => ({ name: h.spec.name, running: h.running, hasData: h.running, strayPids: [] })),
      all,
      { allowExistingData: false },
    );
    const clusterView: ClusterView = {
      members: all,
      health: new Map(
        all.map((m) => [
          m.id,
          { reachable: true, healthy: true, raftIndex: 5, raftAppliedIndex: 5, detail: 'healthy' },
        ]),
      ),
      leaderId: h104.id,
    };
    const p = planDeploy({
      inv,
      hosts,
      decision,
      view: clusterView,
      leader: undefined,
      exposure: dep.exposureOf(inv),
      snapshot: { keep: 3 },
    });
    const kinds = p.steps
      .filter((s) => !['install', 'firewall', 'tls'].includes(s.kind))
      .map((s) => `${s.host} ${s.kind}`);
    assert.deepEqual(kinds, ['docker snapshot', ...join('h105'), 'docker restart', ...leave('h104')]);
    // The joining host is prepared with the others, and gets its config in its add step.
    assert.deepEqual(
      p.steps.filter((s) => s.host === 'h105').map((s) => s.kind),
      ['install', 'firewall', ...join('h105').map((l) => l.split(' ')[1])],
    );
    assert.deepEqual(p.adds, ['h105']);
    assert.deepEqual(p.removes, ['h104']);
    const text = formatPlan(p);
    assert.match(
      text,
      /h104 \(member at 192\.168\.100\.104, not in the inventory: leaving the cluster\):\n {4}- move leadership from h104 \(it leads\)/,
    );
    assert.match(text, /order: snapshot → add h105 .* → restart docker → remove h104/);
  });

  test('members that did not answer a status check: a membership change is refused, never planned blind', async () => {
    const inv = await dep.seedInventory((i) => {
      i.hosts = i.hosts.filter((h) => h.name !== 'h104');
    });
    const seed = await dep.seedInventory();
    const all = ['docker', 'h102', 'h104'].map((n) => dep.member(seed, n));
    const hosts = ['docker', 'h102'].map((n) => dep.convergedHost(inv, n));
    const decision = decideClusterMode(
      inv,
      hosts.map((h) => ({ name: h.spec.name, running: true, hasData: true, strayPids: [] })),
      all,
      { allowExistingData: false },
    );
    assert.throws(
      () => planDeploy({ inv, hosts, decision, leader: undefined, exposure: dep.exposureOf(inv) }),
      (err: unknown) => err instanceof TskvError && err.code === 'E_NO_CLUSTER',
    );
  });
});

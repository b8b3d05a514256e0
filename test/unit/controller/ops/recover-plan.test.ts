import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClusterView } from '../../../../controller/ops/cluster-view.ts';
import {
  hasForceNewCluster,
  withForceNewCluster,
  withoutForceNewCluster,
} from '../../../../controller/ops/force-new-cluster.ts';
import {
  planRecover,
  type RecoverInput,
  type RecoverPlan,
  type RecoverStep,
} from '../../../../controller/ops/recover-plan.ts';
import { member, seedMembers, view } from './membership-fixtures.ts';
import { alone, HOSTS, inv, lostView } from './recover-fixtures.ts';

function input(v: ClusterView, more: Partial<RecoverInput> = {}): RecoverInput {
  return {
    inv,
    view: v,
    connected: new Set(HOSTS),
    forceFlag: new Set(),
    stoppedWithData: new Set(),
    journal: undefined,
    now: new Date('2026-12-04T20:00:00Z'),
    ...more,
  };
}

function label(s: RecoverStep): string {
  if (s.kind === 'add-member') return `add ${s.host}${s.learner ? ' learner' : ''}`;
  return 'host' in s && s.host ? `${s.kind} ${s.host}` : s.kind;
}

const steps = (plan: RecoverPlan): string[] => {
  assert.equal(plan.kind, 'steps', JSON.stringify(plan));
  return plan.kind === 'steps' ? plan.steps.map(label) : [];
};

const rejoin = (host: string, tls = false) => [
  `clear-host ${host}`,
  `prepare-host ${host}`,
  ...(tls ? [`let-in ${host}`] : []),
  `add ${host} learner`,
  `start-member ${host}`,
  `wait-caught-up ${host}`,
  `promote ${host}`,
  `wait-healthy ${host}`,
];

describe('planRecover', () => {
  test('quorum lost: snapshot, stop the others, force a new cluster, then each other host back as a learner', () => {
    const plan = planRecover(input(lostView({ h102: alone(41), docker: alone(42) })));
    assert.deepEqual(steps(plan), [
      'snapshot docker',
      'stop-etcd h102',
      'stop-etcd h104',
      'force-new-cluster docker',
      'drop-force-flag docker',
      'record',
      ...rejoin('h102'),
      ...rejoin('h104'),
      'clear-record',
    ]);
    assert.equal(plan.kind === 'steps' && plan.mode, 'force');
    assert.deepEqual(plan.kind === 'steps' && plan.rejoin, ['h102', 'h104']);
    const losses = plan.kind === 'steps' ? plan.losses.join('\n') : '';
    assert.match(losses, /docker has the highest raft index of the members that answered: 42/);
    assert.match(losses, /h104 did not answer: any entry beyond raft index 42 that only it had is lost/);
    assert.match(losses, /h102 is at raft index 41: nothing it has is missing from docker/);
  });
  test('data dirs are moved aside, never deleted: every old host is cleared before it rejoins', () => {
    const plan = planRecover(input(lostView({ h104: alone(9) })));
    const titles = plan.kind === 'steps' ? plan.steps.map((s) => s.title).join('\n') : '';
    assert.match(titles, /stop etcd on h102 and move \/var\/lib\/etcd\/h102\.etcd aside/);
    assert.doesNotMatch(titles, /h104\.etcd/, "the survivor's data dir is never touched");
  });
  test('TLS on: each host is let in through the firewalls before it is added', () => {
    const tlsInv = { ...inv, tls: { ...inv.tls, mode: 'auto' as const } };
    const plan = planRecover(input(lostView({ h102: alone(3) }), { inv: tlsInv }));
    assert.deepEqual(steps(plan).slice(6, 14), rejoin('docker', true));
  });
  test('refuses while the cluster has quorum, naming replace', () => {
    const plan = planRecover(input(view(seedMembers(), { sick: ['h104'] })));
    assert.equal(plan.kind, 'refuse');
    assert.match(
      plan.kind === 'refuse' ? plan.reason : '',
      /the cluster has quorum \(2 of 3 voters healthy\)/,
    );
    assert.match(plan.kind === 'refuse' ? (plan.fix ?? '') : '', /tskv replace \/srv\/inv\.yaml OLD=NEW/);
  });
  test('nothing to do on a healthy cluster that matches the inventory', () => {
    assert.equal(planRecover(input(view(seedMembers()))).kind, 'done');
  });
  test('refuses without a survivor, pointing at restore', () => {
    const plan = planRecover(input(lostView({})));
    assert.equal(plan.kind, 'refuse');
    assert.match(plan.kind === 'refuse' ? (plan.fix ?? '') : '', /tskv restore/);
  });
  test('refuses when an inventory host cannot be asked', () => {
    const plan = planRecover(input(lostView({ h102: alone(3) }), { connected: new Set(['h102', 'docker']) }));
    assert.equal(plan.kind, 'refuse');
    assert.match(plan.kind === 'refuse' ? plan.reason : '', /^h104 is not reachable over SSH/);
  });
  test('warns of a stopped member whose data may be newer', () => {
    const plan = planRecover(input(lostView({ h102: alone(3) }), { stoppedWithData: new Set(['h104']) }));
    assert.match(
      plan.kind === 'steps' ? plan.warnings.join('') : '',
      /h104's etcd does not run but its data dir/,
    );
  });
  test('resumes from the live state: the survivor alone and a learner half way', () => {
    const members = [member('docker'), member('h102', { learner: true })];
    const v = view(members, { leader: 'docker' });
    const journal = { recover: true as const, survivor: 'docker', raftIndex: 42, startedAt: 'x' };
    const plan = planRecover(input(v, { journal }));
    assert.equal(plan.kind === 'steps' && plan.mode, 'resume');
    assert.deepEqual(steps(plan), [
      'prepare-host h102',
      'start-member h102',
      'wait-caught-up h102',
      'promote h102',
      'wait-healthy h102',
      ...rejoin('h104'),
      'clear-record',
    ]);
  });
  test('resumes a run stopped with --force-new-cluster still in the survivor config', () => {
    const plan = planRecover(input(view([member('h104')]), { forceFlag: new Set(['h104']) }));
    assert.deepEqual(steps(plan).slice(0, 2), ['drop-force-flag h104', 'record']);
  });
});

describe('--force-new-cluster in the env file', () => {
  const env = '# etcd settings\nETCD_NAME="h102"\nETCD_DATA_DIR="/var/lib/etcd/h102.etcd"\n';
  test('added once, taken out leaving the file as it was', () => {
    const forced = withForceNewCluster(env);
    assert.equal(hasForceNewCluster(env), false);
    assert.equal(hasForceNewCluster(forced), true);
    assert.equal(withForceNewCluster(forced), forced);
    assert.equal(withoutForceNewCluster(forced), env);
    assert.equal(withoutForceNewCluster(env), env);
  });
});

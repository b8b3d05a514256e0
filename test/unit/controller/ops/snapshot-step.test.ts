import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decideClusterMode } from '../../../../controller/ops/cluster-mode.ts';
import { planDeploy } from '../../../../controller/ops/deploy-plan.ts';
import { planRotation } from '../../../../controller/ops/rotate-plan.ts';
import { snapshotBefore, snapshotHost, snapshotStep } from '../../../../controller/ops/snapshot-step.ts';
import { MEMBER_TLS_FILES } from '../../../../controller/ops/tls-files.ts';
import { convergedHost, exposureOf, seedInventory, member as seedMember } from './deploy-fixtures.ts';
import { inventory, member, seedMembers, view } from './membership-fixtures.ts';

describe('where the automatic snapshot is taken', () => {
  const inv = inventory(['h102', 'docker', 'h104']);

  test('the first healthy voter in inventory order, whoever leads', () => {
    assert.equal(snapshotHost(inv, view(seedMembers(), { leader: 'h104' })), 'h102');
  });

  test('never the member leaving, a sick one, or a learner', () => {
    const members = [member('h102'), member('docker', { learner: true }), member('h104')];
    assert.equal(snapshotHost(inv, view(members), [members[0]!.id]), 'h104');
    assert.equal(snapshotHost(inv, view(seedMembers(), { sick: ['h102'] })), 'docker');
    assert.equal(snapshotHost(inv, view(seedMembers(), { sick: ['h102', 'docker', 'h104'] })), undefined);
  });

  test('the step names the folder and keep; it goes before the first step picked, or nowhere', () => {
    const snap = snapshotStep('h102', 5);
    assert.equal(
      snap.title,
      "take a snapshot of the cluster's data into /var/lib/tskv/snapshots/ (the newest 5 are kept there)",
    );
    const steps = [
      { kind: 'a', title: 'a' },
      { kind: 'b', title: 'b' },
    ];
    assert.deepEqual(
      snapshotBefore(steps, snap, (s) => s.kind === 'b').map((s) => s.kind),
      ['a', 'snapshot', 'b'],
    );
    assert.deepEqual(
      snapshotBefore(steps, snap, (s) => s.kind === 'c'),
      steps,
    );
    assert.deepEqual(
      snapshotBefore(steps, undefined, (s) => s.kind === 'b'),
      steps,
    );
  });
});

describe('plans with the automatic snapshot', () => {
  test('deploy: before the first restart, on the first running host; none without restarts or with --no-snapshot', async () => {
    const inv = await seedInventory((i) => {
      i.etcd.flags['heartbeat-interval'] = 200;
    });
    const before = await seedInventory();
    const names = ['docker', 'h102', 'h104'];
    const hosts = names.map((n) => convergedHost(before, n));
    const decision = decideClusterMode(
      inv,
      hosts.map((h) => ({ name: h.spec.name, running: true, hasData: true, strayPids: [] })),
      names.map((n) => seedMember(inv, n)),
      { allowExistingData: false },
    );
    const input = { inv, hosts, decision, leader: 'docker', exposure: exposureOf(inv) };
    const plan = planDeploy({ ...input, snapshot: { keep: 3 } });
    assert.deepEqual(
      plan.steps.map((s) => `${s.kind} ${s.host}`),
      [
        'snapshot docker',
        'config h102',
        'restart h102',
        'config h104',
        'restart h104',
        'config docker',
        'restart docker',
      ],
    );
    assert.match(plan.steps[0]!.title, /newest 3 are kept/);
    assert.equal(
      planDeploy(input).steps.some((s) => s.kind === 'snapshot'),
      false,
    );
    const idle = planDeploy({ ...input, inv: before, snapshot: { keep: 3 } });
    assert.deepEqual(idle.steps, []);
  });

  test('certs rotate: first, on the first host, only when members restart', () => {
    const want = new Map(MEMBER_TLS_FILES.map((f) => [f.path, `new ${f.path}`]));
    const have = new Map(
      MEMBER_TLS_FILES.map((f) => [f.path, { content: 'old', mode: 0o640, owner: 'root:etcd' }]),
    );
    const hosts = ['h102', 'docker', 'h104'].map((name) => ({ name, want, have, pending: false }));
    const plan = planRotation({
      kind: 'certs',
      recorded: undefined,
      hosts,
      leader: 'docker',
      snapshot: { keep: 5 },
    });
    assert.equal(plan.steps[0]!.kind, 'snapshot');
    assert.equal(plan.steps[0]!.host, 'h102');
    assert.equal(plan.steps.filter((s) => s.kind === 'snapshot').length, 1);
    const none = planRotation({ kind: 'certs', recorded: undefined, hosts, leader: 'docker' });
    assert.equal(
      none.steps.some((s) => s.kind === 'snapshot'),
      false,
    );
  });
});

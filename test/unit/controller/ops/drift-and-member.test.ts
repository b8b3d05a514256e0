import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkAdd, checkRemove } from '../../../../controller/ops/member-plan.ts';
import { formatDrift, membershipDrift } from '../../../../controller/ops/membership.ts';
import { inventory, member, seedMembers, view } from './membership-fixtures.ts';

describe('membershipDrift', () => {
  test('inventory and cluster agree: no problems', () => {
    assert.deepEqual(membershipDrift(inventory(['h102', 'docker', 'h104']), seedMembers()), []);
  });

  test("the seed's rename (h102 → new-h102 at the same address) asks for tskv replace", () => {
    const drift = membershipDrift(inventory(['new-h102', 'docker', 'h104']), seedMembers());
    assert.deepEqual(
      drift.map((p) => [p.kind, p.fix]),
      [['renamed', 'tskv replace /srv/inv.yaml h102=new-h102']],
    );
  });

  test('a member gone from the inventory and one new host: replace OLD=NEW', () => {
    const drift = membershipDrift(inventory(['h102', 'docker', 'h105']), seedMembers());
    assert.deepEqual(
      drift.map((p) => p.fix),
      ['tskv replace /srv/inv.yaml h104=h105'],
    );
  });

  test('a host that is not a member: member add --start; a member not in the inventory: member remove', () => {
    assert.deepEqual(
      membershipDrift(inventory(['h102', 'docker', 'h104', 'h105']), seedMembers()).map((p) => p.fix),
      ['tskv member add /srv/inv.yaml h105 --start'],
    );
    assert.deepEqual(
      membershipDrift(inventory(['h102', 'docker']), seedMembers()).map((p) => p.fix),
      ['add it to the inventory, or tskv member remove /srv/inv.yaml h104'],
    );
  });

  test('an unstarted member resumes with member add --start, or is removed by ID when not in the inventory', () => {
    const inv = inventory(['h102', 'docker', 'h104', 'h105']);
    const unstarted = member('h105', { unstarted: true });
    const drift = membershipDrift(inv, [...seedMembers(), unstarted]);
    assert.deepEqual(
      drift.map((p) => p.fix),
      ['tskv member add /srv/inv.yaml h105 --start'],
    );
    const stray = membershipDrift(inventory(['h102', 'docker', 'h104']), [...seedMembers(), unstarted]);
    assert.deepEqual(
      stray.map((p) => p.fix),
      [`tskv member remove /srv/inv.yaml ${unstarted.idHex}`],
    );
  });

  test('a learner and a changed address are reported', () => {
    const inv = inventory(['h102', 'docker', 'h104', 'h105']);
    const learner = membershipDrift(inv, [...seedMembers(), member('h105', { learner: true })]);
    assert.deepEqual(
      learner.map((p) => p.kind),
      ['learner'],
    );
    const moved = membershipDrift(inventory(['h102', 'docker', 'h104']), [
      member('h102'),
      member('docker'),
      member('h104', { address: '192.168.100.99' }),
    ]);
    assert.deepEqual(
      moved.map((p) => p.kind),
      ['peer-url-differs'],
    );
  });

  test('formatDrift prints each problem with its fix', () => {
    const text = formatDrift(membershipDrift(inventory(['new-h102', 'docker', 'h104']), seedMembers()));
    assert.equal(
      text,
      "member h102 runs at new-h102's address, but the inventory names it new-h102\n  fix: tskv replace /srv/inv.yaml h102=new-h102",
    );
  });
});

describe('checkRemove', () => {
  const inv = inventory(['h102', 'docker', 'h104']);
  test("the seed's removal by hex ID: the member and its host", () => {
    const v = checkRemove(inv, view(seedMembers()), '84099faad6d56427');
    assert.ok(v.ok);
    assert.equal(v.ok && v.value.member.name, 'h102');
    assert.equal(v.ok && v.value.host?.name, 'h102');
  });
  test('refuses an unknown member', () => {
    const v = checkRemove(inv, view(seedMembers()), 'nope');
    assert.ok(!v.ok && /nope is not a member/.test(v.reason));
  });
  test('refuses to lose quorum: 3 voters, one down, removing a healthy one', () => {
    const v = checkRemove(inv, view(seedMembers(), { sick: ['h104'] }), 'h102');
    assert.ok(
      !v.ok && /would leave 1 healthy of 2 voters, short of a quorum of 2: h104/.test(v.reason),
      JSON.stringify(v),
    );
  });
  test('removing the dead member itself keeps quorum', () => {
    assert.ok(checkRemove(inv, view(seedMembers(), { sick: ['h104'] }), 'h104').ok);
  });
  test('refuses the last voter; a learner can always go', () => {
    assert.ok(!checkRemove(inv, view([member('h102')]), 'h102').ok);
    const withLearner = [member('h102'), member('h104', { learner: true })];
    assert.ok(checkRemove(inv, view(withLearner, { sick: ['h104'] }), 'h104').ok);
  });
});

describe('checkAdd', () => {
  const inv = inventory(['new-h102', 'docker', 'h104']);
  const afterRemove = [member('docker'), member('h104')];
  test("the seed's add of new-h102 after h102 left", () => {
    const v = checkAdd(inv, view(afterRemove), 'new-h102');
    assert.deepEqual(v.ok && v.value.kind === 'add' && v.value.peerURLs, ['http://192.168.100.102:2380']);
  });
  test('an added but never started member is resumed, not added twice ("Peer URLs already exists")', () => {
    const v = checkAdd(inv, view([...afterRemove, member('new-h102', { unstarted: true })]), 'new-h102');
    assert.equal(v.ok && v.value.kind, 'resume');
  });
  test('already a member', () => {
    const v = checkAdd(inv, view([...afterRemove, member('new-h102')]), 'new-h102');
    assert.equal(v.ok && v.value.kind, 'already');
  });
  test('the address belongs to another member: points at tskv replace', () => {
    const v = checkAdd(inv, view(seedMembers()), 'new-h102');
    assert.ok(
      !v.ok &&
        v.fix ===
          "the seed's way to bring the host back under a new name: tskv replace /srv/inv.yaml h102=new-h102",
    );
  });
  test('refuses with an unhealthy voter, with a learner in flight, and for a host not in the inventory', () => {
    assert.ok(!checkAdd(inv, view(afterRemove, { sick: ['h104'] }), 'new-h102').ok);
    const learner = [...afterRemove, member('h105', { learner: true })];
    const v = checkAdd(inv, view(learner), 'new-h102');
    assert.ok(!v.ok && /two changes at once/.test(v.reason));
    assert.ok(!checkAdd(inv, view(afterRemove), 'h999').ok);
  });
});

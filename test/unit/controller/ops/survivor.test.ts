import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClusterView } from '../../../../controller/ops/cluster-view.ts';
import { chooseSurvivor, describeQuorumLoss, hasQuorum } from '../../../../controller/ops/survivor.ts';
import { member, seedMembers, view } from './membership-fixtures.ts';
import { alone, HOSTS, inv, lostView } from './recover-fixtures.ts';

describe('survivor choice', () => {
  test('the answering voter with the highest raft index', () => {
    const v = lostView({ h102: alone(90), docker: alone(120), h104: alone(100) });
    assert.equal(chooseSurvivor(inv, v, new Set(HOSTS))?.host, 'docker');
  });
  test('ties go to the higher applied index, then to the first in the inventory', () => {
    assert.equal(
      chooseSurvivor(inv, lostView({ h102: alone(120, 110), h104: alone(120, 119) }), new Set(HOSTS))?.host,
      'h104',
    );
    assert.equal(
      chooseSurvivor(inv, lostView({ h104: alone(7), h102: alone(7) }), new Set(HOSTS))?.host,
      'h102',
    );
  });
  test('never a learner, nor a member whose host is not reachable over SSH', () => {
    const members = [member('h102'), member('docker'), member('h104', { learner: true })];
    const v: ClusterView = {
      members,
      health: new Map([
        [members[0]!.id, alone(10)],
        [members[1]!.id, alone(20)],
        [members[2]!.id, alone(30)],
      ]),
      leaderId: undefined,
    };
    assert.equal(chooseSurvivor(inv, v, new Set(['h102', 'h104']))?.host, 'h102');
  });
  test('none when no voter answers', () => {
    assert.equal(chooseSurvivor(inv, lostView({}), new Set(HOSTS)), undefined);
  });
});

describe('quorum', () => {
  test('a healthy majority with a leader has it; one of three does not', () => {
    assert.equal(hasQuorum(view(seedMembers(), { sick: ['h104'] })), true);
    assert.equal(hasQuorum(view(seedMembers(), { sick: ['h104', 'docker'] })), false);
    assert.equal(hasQuorum(lostView({ h102: alone(5) })), false);
  });
  test('status says in words that it is lost, and names tskv recover', () => {
    const text = describeQuorumLoss(lostView({ h102: alone(5) }), '/srv/inv.yaml');
    assert.match(text ?? '', /^QUORUM LOST: 0 of 3 voting members healthy, 2 needed; only h102 answers\./);
    assert.match(text ?? '', /tskv recover \/srv\/inv\.yaml$/);
    assert.equal(describeQuorumLoss(view(seedMembers()), '/srv/inv.yaml'), undefined);
  });
});

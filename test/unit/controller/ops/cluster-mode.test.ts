import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TskvError } from '../../../../controller/errors.ts';
import {
  decideClusterMode,
  type HostRuntime,
  staticMemberId,
} from '../../../../controller/ops/cluster-mode.ts';
import { member, seedInventory } from './deploy-fixtures.ts';

const rt = (name: string, over: Partial<HostRuntime> = {}): HostRuntime => ({
  name,
  running: false,
  hasData: false,
  strayPids: [],
  ...over,
});
const names = ['docker', 'h102', 'h104'];

function refusal(fn: () => unknown): TskvError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof TskvError);
    return err;
  }
  assert.fail('expected a refusal');
}

describe('decideClusterMode', () => {
  test('nothing running, no data anywhere: a new cluster', async () => {
    const inv = await seedInventory();
    const d = decideClusterMode(
      inv,
      names.map((n) => rt(n)),
      undefined,
      { allowExistingData: false },
    );
    assert.deepEqual(d.mode, { kind: 'new' });
  });

  test('live members equal to the inventory: existing, each host mapped to its member', async () => {
    const inv = await seedInventory();
    const members = names.map((n) => member(inv, n));
    const d = decideClusterMode(
      inv,
      names.map((n) => rt(n, { running: true, hasData: true })),
      members,
      {
        allowExistingData: false,
      },
    );
    assert.deepEqual(d.mode, { kind: 'existing', source: 'live' });
    assert.equal(d.memberByHost.get('h104')?.id, members[2]!.id);
  });

  test('a live member whose address no inventory host has, and an inventory host that is not a member: one leaves, the other joins', async () => {
    const inv = await seedInventory();
    const stranger = { ...member(inv, 'h104'), name: 'old-h104', peerURLs: ['http://192.168.100.99:2380'] };
    const d = decideClusterMode(
      inv,
      names.map((n) => rt(n, { running: n !== 'h104', hasData: n !== 'h104' })),
      [member(inv, 'docker'), member(inv, 'h102'), stranger],
      { allowExistingData: false },
    );
    assert.deepEqual(d.scale, { joins: [{ host: 'h104' }], leaves: [stranger] });
  });

  test('a renamed member at the same address (the seed h102 → new-h102) is a disagreement', async () => {
    const inv = await seedInventory();
    const renamed = { ...member(inv, 'h102'), name: 'new-h102' };
    const err = refusal(() =>
      decideClusterMode(
        inv,
        names.map((n) => rt(n)),
        [member(inv, 'docker'), renamed, member(inv, 'h104')],
        {
          allowExistingData: false,
        },
      ),
    );
    assert.match(err.message, /member new-h102 runs at h102's address/);
  });

  test('an inventory host missing from the cluster: it joins', async () => {
    const inv = await seedInventory();
    const d = decideClusterMode(
      inv,
      names.map((n) => rt(n, { running: n !== 'h104', hasData: n !== 'h104' })),
      [member(inv, 'docker'), member(inv, 'h102')],
      { allowExistingData: false },
    );
    assert.deepEqual(d.scale, { joins: [{ host: 'h104' }], leaves: [] });
  });

  test('an unstarted member: deploy starts it if the static bootstrap made it, else refuses', async () => {
    const inv = await seedInventory();
    const late = member(inv, 'h104', 'added');
    const up = [
      rt('docker', { running: true, hasData: true }),
      rt('h102', { running: true, hasData: true }),
      rt('h104'),
    ];
    const ok = decideClusterMode(inv, up, [member(inv, 'docker'), member(inv, 'h102'), late], {
      allowExistingData: false,
    });
    assert.equal(ok.memberByHost.get('h104'), late);
    // Added by an earlier deploy (not the bootstrap's ID): it joins, resumed from its start.
    const added = { ...late, id: '12345' };
    const resumed = decideClusterMode(inv, up, [member(inv, 'docker'), member(inv, 'h102'), added], {
      allowExistingData: false,
    });
    assert.deepEqual(resumed.scale?.joins, [{ host: 'h104', member: added }]);
    // Added at an address no inventory host has: not the inventory's, refused.
    const elsewhere = { ...added, peerURLs: ['http://192.168.100.99:2380'] };
    const err = refusal(() =>
      decideClusterMode(
        inv,
        up,
        [member(inv, 'docker'), member(inv, 'h102'), member(inv, 'h104'), elsewhere],
        {
          allowExistingData: false,
        },
      ),
    );
    assert.equal(err.code, 'E_MEMBERSHIP');
    assert.match(err.message, /was added but never started and is not in the inventory/);
  });

  test('a bootstrap member that never started (named, no client URLs, no data) is started, not refused as wiped', async () => {
    const inv = await seedInventory();
    const up = [
      rt('docker', { running: true, hasData: true }),
      rt('h102', { running: true, hasData: true }),
      rt('h104'),
    ];
    const late = member(inv, 'h104', 'late');
    const d = decideClusterMode(inv, up, [member(inv, 'docker'), member(inv, 'h102'), late], {
      allowExistingData: false,
    });
    assert.equal(d.memberByHost.get('h104'), late);
  });

  test("a changed dataDir over a stopped cluster's data: refused naming both paths, not a new cluster over it", async () => {
    const inv = await seedInventory((i) => {
      for (const h of i.hosts) h.dataDir = `/srv/etcd/${h.name}`;
    });
    const hosts = names.map((n) => rt(n, { dataElsewhere: `/var/lib/etcd/${n}.etcd` }));
    const err = refusal(() => decideClusterMode(inv, hosts, undefined, { allowExistingData: false }));
    assert.equal(err.code, 'E_DATA_DIR_CHANGED');
    assert.match(err.message, /docker keeps its etcd data in \/var\/lib\/etcd\/docker\.etcd/);
    assert.match(err.message, /the inventory's dataDir is \/srv\/etcd\/docker \(empty there\)/);
    assert.match(err.fix ?? '', /put etcd\.dataDir back to \/var\/lib\/etcd\/docker\.etcd/);
    // Data at the inventory's dataDir as well: the old copy is not what the member runs from.
    const both = names.map((n) => rt(n, { hasData: true, dataElsewhere: `/var/lib/etcd/${n}.etcd` }));
    assert.equal(decideClusterMode(inv, both, undefined, { allowExistingData: true }).mode.kind, 'existing');
  });

  test('staticMemberId is what etcd computes (checked against etcd 3.4.23)', () => {
    assert.equal(staticMemberId(['http://127.0.0.1:23801'], 'tok-x'), '4577858347370119897');
  });

  test('running etcd with no member list, stray etcd, partial data: refused with the hosts named', async () => {
    const inv = await seedInventory();
    assert.match(
      refusal(() =>
        decideClusterMode(inv, [rt('h102', { running: true })], undefined, { allowExistingData: false }),
      ).message,
      /etcd runs on h102 but no member answered/,
    );
    assert.match(
      refusal(() =>
        decideClusterMode(inv, [rt('h102', { strayPids: [42] })], undefined, { allowExistingData: false }),
      ).message,
      /outside tskv's control on h102 \(pid 42\)/,
    );
    assert.match(
      refusal(() =>
        decideClusterMode(inv, [rt('h102', { hasData: true }), rt('h104')], undefined, {
          allowExistingData: true,
        }),
      ).message,
      /h102 holds etcd data \(h104 does not\)/,
    );
  });

  test('a stopped cluster with data everywhere starts only with --allow-existing-data', async () => {
    const inv = await seedInventory();
    const hosts = names.map((n) => rt(n, { hasData: true }));
    assert.match(
      refusal(() => decideClusterMode(inv, hosts, undefined, { allowExistingData: false })).fix!,
      /--allow-existing-data/,
    );
    assert.deepEqual(decideClusterMode(inv, hosts, undefined, { allowExistingData: true }).mode, {
      kind: 'existing',
      source: 'stopped-with-data',
    });
  });

  test('a running member with no data at the inventory dataDir (the data dir was changed): refused', async () => {
    const inv = await seedInventory();
    const members = names.map((n) => member(inv, n));
    const hosts = [
      rt('docker', { running: true, hasData: true }),
      rt('h102', { running: true, hasData: true }),
      rt('h104', { running: true, hasData: false }),
    ];
    const err = refusal(() => decideClusterMode(inv, hosts, members, { allowExistingData: false }));
    assert.equal(err.code, 'E_DATA_DIR_CHANGED');
    assert.match(err.message, /h104: etcd runs, but there is no member data at the inventory's dataDir/);
  });

  test('a started member whose data is gone: refused; a learner: promoted when it is an inventory host, else refused', async () => {
    const inv = await seedInventory();
    const members = names.map((n) => member(inv, n));
    const hosts = [
      rt('docker', { running: true, hasData: true }),
      rt('h102', { running: true, hasData: true }),
      rt('h104'),
    ];
    assert.equal(
      refusal(() => decideClusterMode(inv, hosts, members, { allowExistingData: false })).code,
      'E_MEMBER_NO_DATA',
    );
    // A learner under an inventory host's name runs there: an add that did not finish, promoted.
    const learner = { ...members[2]!, isLearner: true };
    const running = hosts.map((h) => ({ ...h, running: true, hasData: true }));
    const d = decideClusterMode(inv, running, [members[0]!, members[1]!, learner], {
      allowExistingData: false,
    });
    assert.deepEqual(d.scale?.joins, [{ host: 'h104', member: learner }]);
    // A learner the inventory does not name: not tskv's, refused.
    const stranger = { ...learner, name: 'other', peerURLs: ['http://192.168.100.99:2380'] };
    const err = refusal(() =>
      decideClusterMode(inv, running, [...members, stranger], { allowExistingData: false }),
    );
    assert.equal(err.code, 'E_MEMBERSHIP');
    assert.match(
      err.message,
      /member other \(\S+\) at http:\/\/192\.168\.100\.99:2380 is not in the inventory/,
    );
  });
});

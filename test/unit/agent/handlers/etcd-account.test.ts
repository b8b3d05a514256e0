import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AccountOps, makeEnsureEtcdAccount } from '../../../../agent/handlers/etcd-account.ts';
import {
  type GroupEntry,
  parseGroupLine,
  parsePasswdLine,
  parseUidMin,
  type UserEntry,
} from '../../../../agent/system/accounts.ts';

/** A host's accounts in memory; records what was run. */
function fakeOps(users: UserEntry[] = [], groups: GroupEntry[] = [], uidMin = 1000) {
  const ran: string[] = [];
  let next = 990;
  const ops: AccountOps = {
    lookupUser: async (name) => users.find((u) => u.name === name) ?? null,
    lookupGroup: async (name) => groups.find((g) => g.name === name) ?? null,
    uidMin: async () => uidMin,
    addSystemGroup: async (name) => {
      ran.push(`groupadd --system ${name}`);
      groups.push({ name, gid: next-- });
    },
    addSystemUser: async (name, group, home) => {
      ran.push(`useradd --system --gid ${group} --home-dir ${home} --no-create-home ${name}`);
      const gid = groups.find((g) => g.name === group)!.gid;
      users.push({ name, uid: next--, gid, home, shell: '/usr/sbin/nologin' });
    },
  };
  return { ops, ran };
}

const etcdUser = (uid: number, gid = 105): UserEntry => ({
  name: 'etcd',
  uid,
  gid,
  home: '/var/lib/etcd',
  shell: '/usr/sbin/nologin',
});

describe('the etcd account', () => {
  test('missing: a dry look says what it would create and creates nothing; then group and user are made once', async () => {
    const { ops, ran } = fakeOps();
    const ensure = makeEnsureEtcdAccount(ops);
    const dry = await ensure(false);
    assert.equal(dry.account, null);
    assert.deepEqual(dry.actions, [
      'create system group etcd',
      'create system user etcd (group etcd, no login shell, home /var/lib/etcd not created)',
    ]);
    assert.deepEqual(ran, []);
    const made = await ensure(true);
    assert.deepEqual(made.account, { user: 'etcd', uid: 989, gid: 990 });
    assert.deepEqual(ran, [
      'groupadd --system etcd',
      'useradd --system --gid etcd --home-dir /var/lib/etcd --no-create-home etcd',
    ]);
    assert.deepEqual(await ensure(true), { account: { user: 'etcd', uid: 989, gid: 990 }, actions: [] });
    assert.equal(ran.length, 2);
  });

  test('two requests at once (the env file write and the start of one deploy): made once', async () => {
    const { ops, ran } = fakeOps();
    const ensure = makeEnsureEtcdAccount(ops);
    const [a, b] = await Promise.all([ensure(true), ensure(true)]);
    assert.deepEqual(a.account, b.account);
    assert.equal(a.actions.length + b.actions.length, 2);
    assert.equal(ran.length, 2);
  });

  test("there already (a distribution's etcd package made it): used as it is", async () => {
    const { ops, ran } = fakeOps([etcdUser(102)], [{ name: 'etcd', gid: 105 }]);
    const r = await makeEnsureEtcdAccount(ops)(true);
    assert.deepEqual(r, { account: { user: 'etcd', uid: 102, gid: 105 }, actions: [] });
    assert.deepEqual(ran, []);
  });

  test('a user etcd without a group etcd: the group is made, etcd runs with it', async () => {
    const { ops, ran } = fakeOps([etcdUser(102, 65534)], [{ name: 'nogroup', gid: 65534 }]);
    const r = await makeEnsureEtcdAccount(ops)(true);
    assert.deepEqual(r.account, { user: 'etcd', uid: 102, gid: 990 });
    assert.deepEqual(ran, ['groupadd --system etcd']);
  });

  test("an etcd account that is root, an ordinary user, or in root's group: refused, nothing made", async () => {
    const cases: [UserEntry, GroupEntry[], RegExp][] = [
      [
        etcdUser(0),
        [{ name: 'etcd', gid: 105 }],
        /^cannot run etcd as user etcd: the etcd account has uid 0: it is root; remove or rename it/,
      ],
      [
        etcdUser(1001),
        [{ name: 'etcd', gid: 105 }],
        /the etcd account \(uid 1001\) is not a system account \(uids from 1000, UID_MIN in \/etc\/login\.defs/,
      ],
      [etcdUser(65534), [], /uid 65534\) is not a system account/],
      [etcdUser(102), [{ name: 'etcd', gid: 0 }], /the etcd group has gid 0: it is root's group/],
    ];
    for (const [user, groups, message] of cases) {
      const { ops, ran } = fakeOps([user], groups);
      for (const create of [false, true]) {
        await assert.rejects(makeEnsureEtcdAccount(ops)(create), { code: 'E_AGENT_ACCOUNT', message });
      }
      assert.deepEqual(ran, []);
    }
  });

  test('useradd fails: the error names it', async () => {
    const { ops } = fakeOps();
    ops.addSystemUser = async () => {
      throw new Error('useradd --system ... failed: useradd: cannot lock /etc/passwd; try again later.');
    };
    await assert.rejects(makeEnsureEtcdAccount(ops)(true), {
      code: 'E_AGENT_ACCOUNT',
      message: /^cannot run etcd as user etcd: creating user etcd: useradd .*cannot lock \/etc\/passwd/,
    });
  });
});

test('passwd, group and login.defs lines', () => {
  assert.deepEqual(parsePasswdLine('etcd:x:102:105::/var/lib/etcd/:/usr/sbin/nologin'), {
    name: 'etcd',
    uid: 102,
    gid: 105,
    home: '/var/lib/etcd/',
    shell: '/usr/sbin/nologin',
  });
  assert.equal(parsePasswdLine('etcd:x::105::/:/bin/sh'), null);
  assert.equal(parsePasswdLine('garbage'), null);
  assert.deepEqual(parseGroupLine('etcd:x:105:'), { name: 'etcd', gid: 105 });
  assert.equal(parseGroupLine('etcd:x:'), null);
  assert.equal(parseUidMin('# comment\nUID_MIN\t\t\t 1000\nUID_MAX 60000\n'), 1000);
  assert.equal(parseUidMin('UID_MIN 500\n'), 500);
  assert.equal(parseUidMin('#UID_MIN 500\n'), 1000);
  assert.equal(parseUidMin(''), 1000);
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decideClusterMode } from '../../../../controller/ops/cluster-mode.ts';
import { envFileValue } from '../../../../controller/ops/config.ts';
import { type HostInput, planDeploy, stepsOf } from '../../../../controller/ops/deploy-plan.ts';
import { hostAt, memberAt } from '../../../../controller/ops/membership.ts';
import {
  loopbackSchemeOfEnv,
  planTlsMigration,
  stageOfEnv,
} from '../../../../controller/ops/tls-migration.ts';
import { renderHost } from '../../../../controller/render/render.ts';
import { convergedHost, exposureOf, member, seedInventory } from './deploy-fixtures.ts';

const names = ['docker', 'h102', 'h104'];
const tlsSeed = () =>
  seedInventory((i) => {
    i.tls.mode = 'auto';
    i.tls.declared = true;
  });
const plainSeed = () => seedInventory();

/** The seed cluster as the hosts have it: plain members, or rendered at `stage` by tskv. */
async function hostsAt(stage: Record<string, 'plain' | 'dual' | 'tls'>): Promise<HostInput[]> {
  const plain = await plainSeed();
  const tls = await tlsSeed();
  return names.map((n) => {
    const h = convergedHost(plain, n);
    const s = stage[n] ?? 'plain';
    if (s === 'plain') return h;
    return { ...h, envFile: renderHost(tls, n, 'env', s === 'dual' ? { tlsStage: 'dual' } : {}) };
  });
}

const migrationOf = (inv: Awaited<ReturnType<typeof tlsSeed>>, hosts: HostInput[], members = names) =>
  planTlsMigration(
    inv,
    hosts.map((h) => ({ spec: h.spec, envFile: h.envFile, hasData: true })),
    members.map((n) => member(inv, n)),
  );

describe('moving a plain cluster to TLS', () => {
  test('the half-way env: certificates, clients over https and http on one port, peers still http', async () => {
    const env = renderHost(await tlsSeed(), 'h102', 'env', { tlsStage: 'dual' });
    assert.equal(
      envFileValue(env, 'ETCD_LISTEN_CLIENT_URLS'),
      'https://192.168.100.102:2379,https://127.0.0.1:2379,http://192.168.100.102:2379,http://127.0.0.1:2379',
    );
    assert.equal(
      envFileValue(env, 'ETCD_ADVERTISE_CLIENT_URLS'),
      'https://192.168.100.102:2379,http://192.168.100.102:2379',
    );
    assert.equal(envFileValue(env, 'ETCD_LISTEN_PEER_URLS'), 'http://192.168.100.102:2380');
    assert.match(envFileValue(env, 'ETCD_INITIAL_CLUSTER')!, /^docker=http:\/\/192\.168\.100\.103:2380,/);
    assert.equal(envFileValue(env, 'ETCD_PEER_CERT_FILE'), '/etc/etcd/pki/peer.crt');
    assert.equal(envFileValue(env, 'ETCD_CLIENT_CERT_AUTH'), 'true');
    assert.equal(stageOfEnv(env), 'dual');
    assert.equal(loopbackSchemeOfEnv(env), 'https');
  });

  test('stages and schemes read from env files', async () => {
    const [plain] = await hostsAt({});
    assert.equal(stageOfEnv(plain!.envFile), 'plain');
    assert.equal(loopbackSchemeOfEnv(plain!.envFile), 'http');
    const full = renderHost(await tlsSeed(), 'h102', 'env');
    assert.equal(stageOfEnv(full), 'tls');
    assert.equal(stageOfEnv(undefined), undefined);
    assert.equal(stageOfEnv('ETCD_NAME="x"\n'), undefined);
  });

  test('members are found at their address whatever the scheme of their peer URL', async () => {
    const inv = await tlsSeed();
    const plain = names
      .map((n) => member(inv, n))
      .map((m) => ({
        ...m,
        peerURLs: m.peerURLs.map((u) => u.replace('https://', 'http://')),
      }));
    const h102 = inv.hosts.find((h) => h.name === 'h102')!;
    assert.equal(memberAt(inv, plain, h102)?.name, 'h102');
    assert.equal(hostAt(inv, plain[0]!)?.name, 'docker');
  });

  test('pass 1 while any member is plain: the plain ones go half way; none moves its peer URL', async () => {
    const inv = await tlsSeed();
    const hosts = await hostsAt({ docker: 'dual' });
    const m = migrationOf(inv, hosts)!;
    assert.equal(m.pass, 'dual');
    assert.deepEqual([...m.dual].sort(), names);
    assert.equal(m.peerUpdates.size, 0);
  });

  test('pass 2 once every member is half way: each moves its peer URL to https, then restarts on TLS', async () => {
    const inv = await tlsSeed();
    const hosts = await hostsAt({ docker: 'dual', h102: 'dual', h104: 'dual' });
    const plainMembers = names.map((n) => ({
      ...member(inv, n),
      peerURLs: member(inv, n).peerURLs.map((u) => u.replace('https://', 'http://')),
    }));
    const migration = planTlsMigration(
      inv,
      hosts.map((h) => ({ spec: h.spec, envFile: h.envFile, hasData: true })),
      plainMembers,
    )!;
    assert.equal(migration.pass, 'tls');
    assert.equal(migration.peerUpdates.get('h102'), 'https://192.168.100.102:2380');
    assert.equal(migration.downtime, undefined, 'three voters keep quorum with one out');
    const decision = decideClusterMode(
      inv,
      hosts.map((h) => ({ name: h.spec.name, running: true, hasData: true, strayPids: [] })),
      plainMembers,
      { allowExistingData: false },
    );
    const plan = planDeploy({ inv, hosts, decision, leader: 'docker', migration, exposure: exposureOf(inv) });
    assert.equal(plan.tlsPass, 'tls');
    assert.deepEqual(plan.restarts, ['h102', 'h104', 'docker']);
    for (const n of names) {
      const kinds = stepsOf(plan, n).map((s) => s.kind);
      // TLS files are not in this plan (the fixtures' hosts read none): config, the update, the restart.
      assert.deepEqual(kinds.slice(-3), ['config', 'peer-urls', 'restart'], n);
      const config = stepsOf(plan, n).find((s) => s.kind === 'config') as { env: string };
      assert.equal(stageOfEnv(config.env), 'tls');
      // Its bootstrap settings move with it: nothing of plain HTTP is left in the file.
      assert.doesNotMatch(config.env, /http:\/\//, n);
    }
  });

  test('a resumed pass 2: a member already on TLS is left alone, a half-way one still moves', async () => {
    const inv = await tlsSeed();
    const hosts = await hostsAt({ docker: 'dual', h102: 'tls', h104: 'dual' });
    const members = names.map((n) =>
      n === 'h102'
        ? member(inv, n)
        : { ...member(inv, n), peerURLs: member(inv, n).peerURLs.map((u) => u.replace('https', 'http')) },
    );
    const m = planTlsMigration(
      inv,
      hosts.map((h) => ({ spec: h.spec, envFile: h.envFile, hasData: true })),
      members,
    )!;
    assert.equal(m.pass, 'tls');
    assert.deepEqual([...m.moving].sort(), ['docker', 'h104']);
    assert.deepEqual([...m.peerUpdates.keys()].sort(), ['docker', 'h104']);
  });

  test('a cluster of two voters cannot spare one: pass 2 says so (deploy wants --allow-downtime)', async () => {
    const inv = await tlsSeed();
    const hosts = await hostsAt({ docker: 'dual', h102: 'dual', h104: 'dual' });
    const members = ['docker', 'h102'].map((n) => ({
      ...member(inv, n),
      peerURLs: member(inv, n).peerURLs.map((u) => u.replace('https', 'http')),
    }));
    const m = planTlsMigration(
      inv,
      hosts.slice(0, 2).map((h) => ({ spec: h.spec, envFile: h.envFile, hasData: true })),
      members,
    )!;
    assert.match(m.downtime ?? '', /2 voting members cannot spare one/);
  });

  test('nothing to move: a TLS cluster, a new one, or tls.mode off', async () => {
    const inv = await tlsSeed();
    assert.equal(migrationOf(inv, await hostsAt({ docker: 'tls', h102: 'tls', h104: 'tls' })), undefined);
    const bare = (await hostsAt({})).map((h) => ({ spec: h.spec, envFile: undefined, hasData: false }));
    assert.equal(planTlsMigration(inv, bare, undefined), undefined);
    assert.equal(migrationOf(await plainSeed(), await hostsAt({})), undefined);
  });
});

/** installEtcd asks the agent to unpack the tarball by its content-named path and its sha256, as the agent's rules take it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { routes } from '../../../../agent/api/index.ts';
import { checkTarball } from '../../../../agent/policy/etcd.ts';
import { HOST_LAYOUT } from '../../../../agent/policy/layout.ts';
import type { EtcdArtifact } from '../../../../controller/artifacts/etcd-tarball.ts';
import { installEtcd } from '../../../../controller/plays/host-etcd.ts';
import type { HostChannel } from '../../../../controller/plays/session.ts';

const zstd = { path: '/x.zst', fileName: 'etcd-v3.5.9-linux-amd64.tar.zst', sha256: 'd'.repeat(64), size: 9 };
const artifact: EtcdArtifact = {
  path: '/x.gz',
  fileName: 'etcd-v3.5.9-linux-amd64.tar.gz',
  sha256: 'e'.repeat(64),
  size: 10,
  downloaded: false,
  zstd,
};

test('installEtcd: the form the host has, by its content-named path and sha256, for a run and a staged upgrade', async () => {
  const calls: unknown[] = [];
  const agent = {
    call: async (route: { path: string }, request: unknown) => {
      assert.equal(route.path, routes.etcdInstall.path);
      calls.push(routes.etcdInstall.request.parse(request));
      return { changed: true, actions: ['install etcd 3.5.9'], binary: '/usr/local/bin/etcd' };
    },
  };
  const ch = { spec: { name: 'h1' }, agent } as unknown as HostChannel;
  const prefetched = Promise.resolve({ pushed: true, form: zstd });
  const actions = await installEtcd(ch, async () => artifact, '3.5.9', { prefetched });
  await installEtcd(ch, async () => artifact, '3.5.9', { prefetched, stage: true });
  const tarball = `/var/lib/tskv/cache/etcd-v3.5.9-linux-amd64.${'d'.repeat(16)}.tar.zst`;
  assert.deepEqual(calls, [
    { tarball, sha256: zstd.sha256, version: '3.5.9' },
    { tarball, sha256: zstd.sha256, version: '3.5.9', link: false },
  ]);
  await checkTarball(HOST_LAYOUT, tarball, zstd.sha256);
  assert.deepEqual(actions, ['uploaded etcd-v3.5.9-linux-amd64.tar.zst', 'install etcd 3.5.9']);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EtcdArtifact } from '../../../../controller/artifacts/etcd-tarball.ts';
import { prefetchEtcd } from '../../../../controller/plays/etcd-prefetch.ts';
import type { HostChannel } from '../../../../controller/plays/session.ts';

/** A host whose commands answer from `reply`; uploads are recorded. */
function host(name: string, reply: (command: string) => string) {
  const uploads: string[] = [];
  const conn = {
    exec: async (command: string) => ({ code: 0, stdout: reply(command), stderr: '' }),
    upload: async (_data: unknown, path: string) => {
      uploads.push(path);
    },
  };
  return { ch: { spec: { name }, conn } as unknown as HostChannel, uploads };
}

const artifact: EtcdArtifact = {
  path: '/dev/null',
  fileName: 'etcd-v3.4.23-linux-amd64.tar.gz',
  sha256: 'a'.repeat(64),
  size: 14_000_000,
  downloaded: false,
};

test('before preflight, the tarball goes only to hosts that lack etcd and have room under /var/lib', async () => {
  const df = (availKb: number) => `/dev/sda1 100000000 50000000 ${availKb} 50% /`;
  const roomy = host('roomy', (c) => (c.startsWith('[ -x') ? df(50_000_000) : ''));
  const full = host('full', (c) => (c.startsWith('[ -x') ? df(900_000) : ''));
  const installed = host('installed', () => 'installed');
  const pushes = prefetchEtcd([roomy.ch, full.ch, installed.ch], '3.4.23', async () => artifact);
  assert.deepEqual(await pushes.get('roomy'), { pushed: true, form: artifact });
  assert.equal(await pushes.get('full'), 'skipped');
  assert.equal(await pushes.get('installed'), 'installed');
  assert.deepEqual(
    [roomy.uploads, full.uploads, installed.uploads],
    [['/var/lib/tskv/cache/etcd-v3.4.23-linux-amd64.tar.gz'], [], []],
  );
});

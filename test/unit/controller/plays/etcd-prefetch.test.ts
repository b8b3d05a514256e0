import assert from 'node:assert/strict';
import { test } from 'node:test';
import { routes } from '../../../../agent/api/index.ts';
import { officialEtcdSha256, officialEtcdUrl } from '../../../../controller/artifacts/etcd-release.ts';
import type { EtcdArtifact } from '../../../../controller/artifacts/etcd-tarball.ts';
import { describeCause, TskvError } from '../../../../controller/errors.ts';
import type { EtcdSpec } from '../../../../controller/inventory/model.ts';
import { hostFetchOf } from '../../../../controller/plays/etcd-host-fetch.ts';
import { fetchBeforeChanges, TarballPrefetch } from '../../../../controller/plays/etcd-prefetch.ts';
import type { HostChannel } from '../../../../controller/plays/session.ts';
import { prefetchAll } from './prefetch-all.ts';

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
  const pushes = prefetchAll([roomy.ch, full.ch, installed.ch], '3.4.23', async () => artifact);
  assert.deepEqual(await pushes.get('roomy'), { pushed: true, form: artifact });
  assert.equal(await pushes.get('full'), 'skipped');
  assert.equal(await pushes.get('installed'), 'installed');
  assert.deepEqual(
    [roomy.uploads, full.uploads, installed.uploads],
    [[`/var/lib/tskv/cache/etcd-v3.4.23-linux-amd64.${'a'.repeat(16)}.tar.gz`], [], []],
  );
});

test('as the session locks each host, its push starts; a refused lock stops the pushes under way and starts no more', async () => {
  const df = '/dev/sda1 100000000 50000000 50000000 50% /';
  const stopped: string[] = [];
  const commands: string[] = [];
  const uploading = Promise.withResolvers<void>();
  // An upload that lasts until it is stopped (a slow link).
  const slow = (name: string) => {
    const h = host(name, (c) => {
      commands.push(`${name}: ${c}`);
      return c.startsWith('[ -x') ? df : '';
    });
    (h.ch.conn as unknown as { upload: unknown }).upload = (
      _d: unknown,
      _p: string,
      o: { signal?: AbortSignal },
    ) =>
      new Promise((_resolve, reject) => {
        uploading.resolve();
        o.signal?.addEventListener('abort', () => {
          stopped.push(name);
          reject(new Error('stopped before it ended'));
        });
      });
    return h;
  };
  const first = slow('h1');
  const prefetch = new TarballPrefetch('3.4.23', async () => artifact);
  prefetch.held(first.ch, undefined);
  assert.deepEqual([...prefetch.prefetched.keys()], ['h1'], 'started as soon as its lock is held');
  await uploading.promise;
  prefetch.refused();
  assert.equal(await prefetch.prefetched.get('h1'), undefined, 'a stopped push is a lost head start');
  assert.deepEqual(stopped, ['h1']);
  const late = slow('h2');
  prefetch.start(late.ch, undefined);
  assert.equal(await prefetch.prefetched.get('h2'), undefined);
  assert.ok(!commands.some((c) => c.startsWith('h2: ')), 'nothing reaches a host after the refusal');
});

/** A host whose agent answers etcd fetch calls with `fetch` (recorded); commands as `host` gives. */
function fetchingHost(name: string, fetch: (req: Record<string, unknown>) => unknown) {
  const h = host(name, (c) => (c.startsWith('[ -x') ? '/dev/sda1 100000000 50000000 50000000 50% /' : ''));
  const calls: Record<string, unknown>[] = [];
  const agent = {
    call: async (route: { path: string }, req: Record<string, unknown>) => {
      assert.equal(route.path, routes.etcdFetch.path);
      calls.push(req);
      return fetch(req);
    },
  };
  Object.assign(h.ch, { agent });
  return { ...h, calls };
}

const MIRROR = 'http://mirror.internal:8080/etcd/etcd-v3.4.23-linux-amd64.tar.gz';
const spec = (over: Partial<EtcdSpec>): EtcdSpec => ({
  version: '3.4.23',
  source: MIRROR,
  sha256: 'b'.repeat(64),
  fetch: 'host',
  flags: {},
  ...over,
});

test('hostFetchOf: none by default; the URL, its checksum (inventory or table) and http only for an http:// source', () => {
  assert.equal(hostFetchOf(spec({ fetch: 'controller' })), undefined);
  assert.deepEqual(hostFetchOf(spec({})), {
    url: MIRROR,
    sha256: 'b'.repeat(64),
    fileName: 'etcd-v3.4.23-linux-amd64.tar.gz',
    allowHttp: true,
  });
  const official = hostFetchOf(spec({ source: officialEtcdUrl('3.4.23'), sha256: undefined }))!;
  assert.equal(official.sha256, officialEtcdSha256('3.4.23', 'amd64'));
  assert.equal(official.allowHttp, false);
  assert.throws(
    () => hostFetchOf(spec({ source: 'https://m/e.tar.gz', sha256: undefined })),
    /without a checksum/,
  );
});

test('etcd.fetch: host: the hosts download the tarball themselves, the controller uploads nothing', async () => {
  const f = hostFetchOf(spec({}))!;
  const a = fetchingHost('a', () => ({
    changed: true,
    actions: ['download …'],
    fetched: true,
    bytes: 7,
    ms: 3,
  }));
  const states = prefetchAll([a.ch], '3.4.23', f);
  const state = await states.get('a');
  assert.deepEqual(a.uploads, []);
  assert.deepEqual(a.calls, [
    {
      url: MIRROR,
      tarball: `/var/lib/tskv/cache/etcd-v3.4.23-linux-amd64.${'b'.repeat(16)}.tar.gz`,
      sha256: f.sha256,
      allowHttp: true,
    },
  ]);
  assert.equal(typeof state === 'object' && state.fetched?.bytes, 7);
});

test('etcd.fetchProxy: each host is asked to download through it', async () => {
  const f = hostFetchOf(spec({ fetchProxy: 'http://proxy.internal:3128' }))!;
  assert.equal(f.proxy, 'http://proxy.internal:3128');
  const a = fetchingHost('a', () => ({ changed: true, actions: [], fetched: true, bytes: 7, ms: 3 }));
  await prefetchAll([a.ch], '3.4.23', f).get('a');
  assert.equal((a.calls[0] as { proxy?: string }).proxy, 'http://proxy.internal:3128');
});

test('before any change, a host whose prefetch failed fetches again; a failure names host, step, URL and cause', async () => {
  const f = hostFetchOf(spec({}))!;
  let fail = true;
  const b = fetchingHost('b', () => {
    if (fail)
      throw new TskvError('E_AGENT_SHA256', 'sent 7 bytes with sha256 cc…, not the expected bb…', {
        host: 'b',
      });
    return { changed: false, actions: [], fetched: false, bytes: 7, ms: 0 };
  });
  const states = prefetchAll([b.ch], '3.4.23', f);
  assert.equal(await states.get('b'), undefined, 'a failed prefetch is only a lost head start');
  await assert.rejects(fetchBeforeChanges([b.ch], f, states), (err: TskvError) => {
    assert.equal(err.code, 'E_ETCD_SHA256');
    assert.equal(err.host, 'b');
    assert.equal(err.step, 'fetch etcd tarball');
    assert.match(
      describeCause(err),
      new RegExp(`b cannot download the etcd tarball ${MIRROR} .*: sent 7 bytes`),
    );
    return true;
  });
  fail = false;
  await fetchBeforeChanges([b.ch], f, states);
  const state = await states.get('b');
  assert.equal(typeof state === 'object' && state.fetched?.fetched, false);
  assert.equal(b.calls.length, 3);
});

test("a host's own download (etcd.fetch: host) waits for the whole lock: held() starts nothing", () => {
  const fetch = hostFetchOf(spec({}))!;
  const prefetch = new TarballPrefetch('3.4.23', fetch);
  prefetch.held(host('h1', () => '').ch, undefined);
  assert.equal(prefetch.prefetched.size, 0);
});

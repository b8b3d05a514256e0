/** The tarball before preflight with relays: one push, then pulls from a host that has it; a failed pull is pushed, with a note. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { routes } from '../../../../agent/api/index.ts';
import type { EtcdArtifact } from '../../../../controller/artifacts/etcd-tarball.ts';
import { TskvError } from '../../../../controller/errors.ts';
import { TarballPrefetch, type TarballState } from '../../../../controller/plays/etcd-prefetch.ts';
import type { HostChannel } from '../../../../controller/plays/session.ts';
import { setForks } from '../../../../controller/run/forks.ts';
import { RelayBoard } from '../../../../controller/transfer/relay-board.ts';
import { prefetchAll } from './prefetch-all.ts';

const artifact: EtcdArtifact = {
  path: '/dev/null',
  fileName: 'etcd-v3.5.9-linux-amd64.tar.gz',
  sha256: 'a'.repeat(64),
  size: 20_000_000,
  downloaded: false,
};
const TOKEN = 'f'.repeat(32);
const remote = `/var/lib/tskv/cache/etcd-v3.5.9-linux-amd64.${'a'.repeat(16)}.tar.gz`;

/** A host without etcd nor the tarball; its agent offers on port 4000 and fetches as `fetch` says. */
function host(name: string, address: string, fetch: () => unknown = () => ({ fetched: true })) {
  const uploads: string[] = [];
  const offers: unknown[] = [];
  const fetches: Record<string, unknown>[] = [];
  const conn = {
    exec: async (c: string) => ({
      code: 0,
      stdout: c.startsWith('[ -x') ? '/dev/sda1 100000000 50000000 50000000 50% /' : '',
      stderr: '',
    }),
    upload: async (_d: unknown, path: string) => void uploads.push(path),
  };
  const agent = {
    call: async (route: { path: string }, req: Record<string, unknown>) => {
      if (route.path === routes.relayOffer.path) {
        offers.push(req);
        return { port: 4000, token: TOKEN, size: artifact.size, firewall: 'firewalld' };
      }
      assert.equal(route.path, routes.etcdFetch.path);
      fetches.push(req);
      return fetch();
    },
  };
  return { ch: { spec: { name, address }, conn, agent } as unknown as HostChannel, uploads, offers, fetches };
}

test('one host gets the tarball pushed, the others pull it from that host; a failed pull is pushed with a note', async () => {
  const board = new RelayBoard();
  const h1 = host('h1', '10.0.0.1');
  const h2 = host('h2', '10.0.0.2');
  const h3 = host('h3', '10.0.0.3', () => {
    throw new TskvError('E_AGENT_DOWNLOAD', 'GET http://10.0.0.1:4000/...: no answer for 5 s');
  });
  assert.deepEqual(await prefetchAll([h1.ch], '3.5.9', async () => artifact, board).get('h1'), {
    pushed: true,
    form: artifact,
  });
  const rest = prefetchAll([h2.ch, h3.ch], '3.5.9', async () => artifact, board);
  assert.deepEqual(await rest.get('h2'), { pushed: false, form: artifact, relayedFrom: 'h1' });
  const third = await rest.get('h3');
  assert.equal(typeof third === 'object' && third.pushed, true);
  assert.match(
    typeof third === 'object' ? String(third.note) : '',
    /^note: etcd tarball etcd-v3\.5\.9-linux-amd64\.tar\.gz pushed directly: the relay from h1 failed \(.*no answer for 5 s\)$/,
  );
  assert.deepEqual([h1.uploads, h2.uploads, h3.uploads], [[remote], [], [remote]]);
  assert.deepEqual(
    h1.offers.map((o) => (o as { to: string }).to),
    ['10.0.0.2', '10.0.0.3'],
  );
  assert.deepEqual(h2.fetches[0], {
    url: `http://10.0.0.1:4000/${TOKEN}`,
    tarball: remote,
    sha256: artifact.sha256,
    allowHttp: true,
    idleTimeoutSeconds: 5,
    maxBytes: artifact.size,
    maxRedirects: 0,
  });
});

test('without a board (transfer.relay: false) or an IPv4 address every host gets its own push', async () => {
  const a = host('a', '10.0.0.1');
  const b = host('b', 'b.example');
  const board = new RelayBoard();
  await Promise.all(prefetchAll([a.ch], '3.5.9', async () => artifact).values());
  await Promise.all(prefetchAll([b.ch], '3.5.9', async () => artifact, board).values());
  assert.deepEqual([a.uploads, b.uploads, a.offers, b.fetches], [[remote], [remote], [], []]);
});

/** A member: etcd installed, and the tarball still in its cache when `cached`. */
function member(name: string, address: string, cached: boolean) {
  const h = host(name, address);
  const exec = async (c: string) => ({
    code: 0,
    stdout: c.startsWith('[ -x')
      ? 'installed'
      : c.startsWith('sha256sum') && cached
        ? `${artifact.sha256}  ${remote}\n`
        : '',
    stderr: '',
  });
  Object.assign(h.ch.conn, { exec });
  return h;
}

test('a host that joins pulls the tarball from a member that still has it in its cache: nothing over the controller link', async () => {
  const board = new RelayBoard();
  const m1 = member('m1', '10.0.0.1', false);
  const m2 = member('m2', '10.0.0.2', true);
  const joiner = host('new', '10.0.0.9');
  let resolved = 0;
  const states = prefetchAll([m1.ch, m2.ch, joiner.ch], '3.5.9', async () => (resolved++, artifact), board);
  assert.deepEqual(await states.get('new'), { pushed: false, form: artifact, relayedFrom: 'm2' });
  assert.deepEqual([await states.get('m1'), await states.get('m2')], ['installed', 'installed']);
  assert.deepEqual([joiner.uploads, m1.offers.length, m2.offers.length], [[], 0, 1]);
  assert.equal(joiner.fetches[0]?.['url'], `http://10.0.0.2:4000/${TOKEN}`);
});

test('every member already installed, nobody needs it (a no-op run): the tarball is not even resolved', async () => {
  const board = new RelayBoard();
  let resolved = 0;
  const states = prefetchAll(
    [member('m1', '10.0.0.1', true).ch, member('m2', '10.0.0.2', true).ch],
    '3.5.9',
    async () => (resolved++, artifact),
    board,
  );
  await Promise.all(states.values());
  assert.equal(resolved, 0);
});

test('a member still being checked when the joining host claims the tarball is waited for, and serves it', async () => {
  const board = new RelayBoard();
  const joiner = host('a-new', '10.0.0.9');
  const m1 = member('m1', '10.0.0.1', true);
  // m1's install check answers only once the joiner is waiting for the tarball.
  const checked = Promise.withResolvers<void>();
  const exec = (m1.ch.conn as unknown as { exec: (c: string) => Promise<unknown> }).exec;
  Object.assign(m1.ch.conn, {
    exec: async (c: string) => {
      if (c.startsWith('[ -x')) await checked.promise;
      return exec(c);
    },
  });
  const prefetch = new TarballPrefetch('3.5.9', async () => artifact);
  // Locked in name order: the joiner first, the member a moment later.
  prefetch.held(joiner.ch, board);
  prefetch.held(m1.ch, board);
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r)); // the joiner reaches its claim
  checked.resolve();
  assert.deepEqual(await prefetch.prefetched.get('a-new'), {
    pushed: false,
    form: artifact,
    relayedFrom: 'm1',
  });
  assert.deepEqual(joiner.uploads, []);
});

test('more fresh hosts than --forks: those under way do not wait for the ones queued behind them (no grace lost)', async (t) => {
  // The board's grace never passes here: a claim that waited for it would never settle.
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  setForks(2);
  try {
    const board = new RelayBoard();
    const hosts = ['h1', 'h2', 'h3', 'h4', 'h5'].map((n, i) => host(n, `10.0.0.${i + 1}`));
    const prefetch = new TarballPrefetch('3.5.9', async () => artifact);
    for (const h of hosts) prefetch.held(h.ch, board);
    let states: (TarballState | undefined)[] | undefined;
    void Promise.all(hosts.map((h) => prefetch.prefetched.get(h.ch.spec.name))).then((s) => {
      states = s;
    });
    for (let i = 0; i < 500 && !states; i++) await new Promise((r) => setImmediate(r));
    assert.ok(states, 'every host settled without waiting out the grace');
    assert.equal(states.filter((s) => typeof s === 'object' && s.pushed).length, 1, 'one copy over the link');
  } finally {
    setForks(undefined);
  }
});

test('a refused lock stops a host waiting for its turn on the board at once, and the turn it gets later is handed back', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] }); // the board's grace never passes here
  const board = new RelayBoard();
  board.expect(`tarball:${artifact.sha256}`, ['silent']); // a host that never says
  const h = host('h1', '10.0.0.1');
  const prefetch = new TarballPrefetch('3.5.9', async () => artifact);
  prefetch.held(h.ch, board);
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r)); // h1 waits on the board
  prefetch.refused();
  let state: unknown = 'pending';
  void prefetch.prefetched.get('h1')!.then((s) => {
    state = s;
  });
  for (let i = 0; i < 50 && state === 'pending'; i++) await new Promise((r) => setImmediate(r));
  assert.equal(state, undefined, 'stopped, not waiting out the grace');
  assert.deepEqual(h.uploads, []);
});

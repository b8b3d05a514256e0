/** Who relays to whom: one direct copy, then pulls from holders (fanning out), and the fallbacks. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hostRelay, relayAddress } from '../../../../controller/transfer/relay.ts';
import {
  type Claim,
  DECLARE_GRACE_MS,
  RelayBoard,
  type RelaySource,
} from '../../../../controller/transfer/relay-board.ts';

const source = (name: string): RelaySource => ({ name, offer: async (to) => `http://${name}/${to}` });

/** Whether `p` has settled by the time queued callbacks have run. */
async function settled<T>(p: Promise<T>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

describe('relay board', () => {
  test('the first host goes direct; the others wait for that copy, then pull from it', async () => {
    const board = new RelayBoard(2);
    const first = await board.claim('f', 'h1');
    assert.equal(first.role, 'direct');
    const second = board.claim('f', 'h2');
    const third = board.claim('f', 'h3');
    assert.equal(await settled(second), false, 'waits while the direct copy travels');
    (first as Extract<Claim, { role: 'direct' }>).landed(source('h1'));
    const [a, b] = await Promise.all([second, third]);
    assert.deepEqual([a.role, b.role], ['pull', 'pull']);
    assert.deepEqual(
      [(a as { from: RelaySource }).from.name, (b as { from: RelaySource }).from.name],
      ['h1', 'h1'],
    );
  });

  test('pulls per source are bounded; a host that got the file serves too (fan out)', async () => {
    const board = new RelayBoard(1);
    board.add('f', source('h1'));
    const a = await board.claim('f', 'h2');
    assert.equal(a.role, 'pull');
    const b = board.claim('f', 'h3');
    assert.equal(await settled(b), false, 'h1 serves one at a time');
    board.add('f', source('h2'));
    const got = await b;
    assert.equal(got.role === 'pull' && got.from.name, 'h2');
    if (a.role === 'pull') a.done();
    const c = await board.claim('f', 'h4');
    assert.equal(c.role === 'pull' && c.from.name, 'h1');
  });

  test('a failed direct push hands the direct role to the next waiter', async () => {
    const board = new RelayBoard();
    const first = await board.claim('f', 'h1');
    const second = board.claim('f', 'h2');
    assert.equal(first.role, 'direct');
    if (first.role === 'direct') first.failed();
    assert.equal((await second).role, 'direct');
  });

  test('a direct copy on a host that cannot serve: the next waiter goes direct too', async () => {
    const board = new RelayBoard();
    const first = await board.claim('f', 'h1');
    const second = board.claim('f', 'h2');
    if (first.role === 'direct') first.landed();
    assert.equal((await second).role, 'direct');
  });

  test('a source a pull failed from serves no one else: the next waiter pulls from another, or goes direct', async () => {
    const board = new RelayBoard(1);
    board.add('f', source('ufw'));
    const a = await board.claim('f', 'h2');
    assert.equal(a.role === 'pull' && a.from.name, 'ufw');
    const b = board.claim('f', 'h3');
    assert.equal(await settled(b), false, 'ufw serves one at a time');
    if (a.role === 'pull') a.done(false);
    assert.equal((await b).role, 'direct', 'not the source that failed');
    // Offered again (the next host that joins asks the members once more): still not a source.
    board.add('f', source('ufw'));
    const c = board.claim('f', 'h4');
    assert.equal(await settled(c), false, 'waits for the direct copy under way, not for ufw');
  });

  test('a host never pulls from itself; files are independent; settling twice changes nothing', async () => {
    const board = new RelayBoard();
    board.add('f', source('h1'));
    assert.equal((await board.claim('f', 'h1')).role, 'direct');
    const g = await board.claim('g', 'h2');
    assert.equal(g.role, 'direct');
    if (g.role === 'direct') {
      g.landed(source('h2'));
      g.failed();
    }
    const h = await board.claim('g', 'h3');
    assert.equal(h.role === 'pull' && h.from.name, 'h2');
  });

  test('expected hosts say whether they have the file before anyone goes direct (a member serves a fresh host)', async () => {
    const board = new RelayBoard();
    board.expect('f', ['fresh', 'member', 'gone']);
    const fresh = board.claim('f', 'fresh');
    assert.equal(await settled(fresh), false, 'waits for member and gone to say');
    board.pass('f', 'gone');
    assert.equal(await settled(fresh), false);
    board.add('f', source('member'));
    const got = await fresh;
    assert.equal(got.role === 'pull' && got.from.name, 'member');
  });

  test('an expected host that never says delays a direct claim by the grace only', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    const board = new RelayBoard();
    board.expect('f', ['a', 'silent']);
    const a = board.claim('f', 'a');
    assert.equal(await settled(a), false);
    t.mock.timers.tick(DECLARE_GRACE_MS);
    assert.equal((await a).role, 'direct');
  });

  test('relays only between IPv4 inventory addresses, and only when the board is on', () => {
    assert.equal(relayAddress('10.0.0.7'), '10.0.0.7');
    assert.equal(relayAddress('h1.example'), undefined);
    assert.equal(relayAddress('fd00::1'), undefined);
    const board = new RelayBoard();
    assert.equal(hostRelay(undefined, 'h1', '10.0.0.7'), undefined);
    assert.equal(hostRelay(board, 'h1', 'h1.example'), undefined);
    assert.deepEqual(hostRelay(board, 'h1', '10.0.0.7'), { board, name: 'h1', address: '10.0.0.7' });
  });
});

/** `tskv etcdctl`'s own arguments (before any connection) and how it names unhealthy members. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import etcdctl from '../../../../controller/commands/etcdctl.ts';
import { formatError } from '../../../../controller/errors.ts';
import { noHealthyMember } from '../../../../controller/plays/etcdctl.ts';
import { expectTskvError } from '../../../fixtures/expect-tskv-error.ts';

const root = resolve(import.meta.dirname, '../../../..');
const bin = resolve(root, 'bin/tskv');

async function tskv(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(bin, args, { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('tskv etcdctl: usage', () => {
  test("etcdctl's arguments go after --, and there must be some: bad input (exit 2), before any connection", async () => {
    for (const [args, said] of [
      [['inventories/seed.yaml', 'get', 'k'], /^etcdctl's arguments go after --\n/],
      [['inventories/seed.yaml', '--'], /^missing etcdctl's arguments after --\n/],
      [['--', 'get', 'k'], /^missing INVENTORY\n/],
      [['inventories/seed.yaml', 'extra', '--', 'get'], /^unexpected argument 'extra'\n/],
      [
        ['inventories/seed.yaml', '--host', 'h9', '--', 'get', 'k'],
        /^no host 'h9' in .*seed\.yaml; its hosts are: docker, h102, h104$/,
      ],
    ] as const) {
      const err = await expectTskvError(
        etcdctl.run([...args].map((a) => (a.endsWith('.yaml') ? resolve(root, a) : a))),
      );
      assert.equal(err.exitCode, 2, `${args.join(' ')}: ${err.message}`);
      assert.match(err.message, said);
    }
  });

  test("--help after -- is etcdctl's, not tskv's", async () => {
    const own = await tskv('etcdctl', '--help');
    assert.equal(own.code, 0);
    assert.match(own.stdout, /^usage: tskv etcdctl INVENTORY \[--host NAME\] -- ARGS\.\.\./);
    // Past --, the words are etcdctl's: tskv goes on to the inventory (missing here) instead of its usage.
    const theirs = await tskv('etcdctl', 'missing.yaml', '--', 'get', '--help');
    assert.equal(theirs.code, 2);
    assert.doesNotMatch(theirs.stdout, /usage: tskv etcdctl/);
    assert.match(theirs.stderr, /missing\.yaml/);
  });
});

test('no healthy member: each host and its problem, in inventory order, and what to do', () => {
  const all = noHealthyMember(
    [
      ['h102', 'etcd does not answer: connect ECONNREFUSED 127.0.0.1:2379'],
      ['docker', 'not reachable over SSH: connection refused'],
    ],
    false,
  );
  assert.equal(all.code, 'E_NO_HEALTHY_MEMBER');
  assert.equal(all.exitCode, 1);
  assert.equal(
    formatError(all),
    [
      'pick a member: no member is healthy to run etcdctl on:',
      '  h102: etcd does not answer: connect ECONNREFUSED 127.0.0.1:2379',
      '  docker: not reachable over SSH: connection refused',
      '  fix: tskv status shows each member; tskv deploy starts stopped ones',
    ].join('\n'),
  );
  const one = noHealthyMember([['h104', 'etcd is not healthy: NOSPACE']], true);
  assert.match(
    formatError(one),
    /^pick a member: cannot run etcdctl on h104:\n {2}h104: etcd is not healthy: NOSPACE\n {2}fix: leave out --host/,
  );
});

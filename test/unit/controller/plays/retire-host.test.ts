/**
 * Retiring a leaving member's host (scale removals): the host reached at the member's address must
 * run that member, or nothing on it is stopped or moved.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { routes } from '../../../../agent/api/index.ts';
import { retireHost } from '../../../../controller/plays/host-etcd.ts';
import type { HostChannel } from '../../../../controller/plays/session.ts';
import { expectTskvError } from '../../../fixtures/expect-tskv-error.ts';

/** A host whose env file says `envName` runs there; records the agent calls made. */
function host(envName: string | undefined): { ch: HostChannel; calls: string[] } {
  const calls: string[] = [];
  const env =
    envName === undefined
      ? undefined
      : `ETCD_NAME="${envName}"\nETCD_DATA_DIR="/var/lib/etcd/${envName}.etcd"\n`;
  const agent = {
    call: async (route: { path: string }, body: { path?: string; action?: string }) => {
      calls.push(`${route.path}${body.action ? ` ${body.action}` : ''}${body.path ? ` ${body.path}` : ''}`);
      if (route === routes.fileRead)
        return env === undefined ? { exists: false } : { exists: true, content: env };
      if (route === routes.etcdService) return { running: false, changed: true };
      if (route === routes.dataDirMoveAside) return { movedTo: `${body.path}.removed-1` };
      throw new Error(`unexpected ${route.path}`);
    },
  };
  return { ch: { spec: { name: 'h104', address: '10.0.0.4' }, agent } as unknown as HostChannel, calls };
}

describe('retireHost', () => {
  test("a host whose etcd config is another member's is not touched (the address reached is not the leaving member's host)", async () => {
    const { ch, calls } = host('docker');
    const err = await expectTskvError(retireHost(ch, ['/var/lib/etcd/h104.etcd'], { member: 'h104' }));
    assert.equal(err.code, 'E_WRONG_HOST');
    assert.match(err.message, /not touching 10\.0\.0\.4: its etcd config is member docker's, not h104's/);
    assert.equal(calls.length, 1, `only the env file was read: ${calls.join(', ')}`);
  });

  test("the leaving member's host: etcd stopped, its data dirs moved aside", async () => {
    const { ch, calls } = host('h104');
    const moved = await retireHost(ch, ['/var/lib/etcd/h104.etcd'], { member: 'h104' });
    assert.deepEqual(moved, ['/var/lib/etcd/h104.etcd.removed-1']);
    assert.ok(
      calls.some((c) => c.endsWith(' stop')),
      calls.join(', '),
    );
  });

  test('a host without an env file (never configured): retired as before', async () => {
    const { ch } = host(undefined);
    assert.deepEqual(await retireHost(ch, ['/var/lib/etcd/h104.etcd'], { member: 'h104' }), [
      '/var/lib/etcd/h104.etcd.removed-1',
    ]);
  });
});

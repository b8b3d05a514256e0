import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';

const root = resolve(import.meta.dirname, '../../../..');
const run = promisify(execFile);
const bin = resolve(root, 'bin/tskv');

async function tskv(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(bin, args, { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const H102 = `/usr/local/bin/etcd \\
  --name h102 \\
  --initial-advertise-peer-urls http://192.168.100.102:2380 \\
  --listen-peer-urls http://192.168.100.102:2380 \\
  --listen-client-urls http://192.168.100.102:2379,http://127.0.0.1:2379 \\
  --advertise-client-urls http://192.168.100.102:2379 \\
  --initial-cluster-token etcd-cluster-test \\
  --initial-cluster docker=http://192.168.100.103:2380,h102=http://192.168.100.102:2380,h104=http://192.168.100.104:2380 \\
  --initial-cluster-state new \\
  --data-dir /var/lib/etcd/h102.etcd
`;

describe('tskv render', () => {
  test("prints the seed's h102 command", async () => {
    const r = await tskv('render', 'inventories/seed.yaml', '--host', 'h102');
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, H102);
  });

  test('prints every host under a # header', async () => {
    const r = await tskv('render', 'inventories/seed.yaml', '--format', 'env');
    assert.equal(r.code, 0);
    assert.deepEqual(
      r.stdout.split('\n').filter((l) => /^# (docker|h102|h104)$/.test(l)),
      ['# docker', '# h102', '# h104'],
    );
  });

  test('bad input exits 2 with a message and no stack trace', async () => {
    for (const args of [
      ['render', 'inventories/seed.yaml', '--host', 'nope'],
      ['render', 'inventories/seed.yaml', '--format', 'yaml'],
      ['render', 'inventories/missing.yaml'],
      ['render', 'test/unit/controller/inventory/bad/port-clash.yaml.txt'],
    ]) {
      const r = await tskv(...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^tskv: /);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});

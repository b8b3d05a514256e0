/**
 * The restore primitives against a real snapshot of a local etcd: the controller's stream check
 * finds it intact and names its member; the agent reads its status and restores it into a data
 * dir that is missing, refusing files outside the snapshot folder, a data dir with member data,
 * and a truncated file (etcd's own hash check), leaving no half-restored data dir.
 */
import assert from 'node:assert/strict';
import {
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AgentError } from '../../../../agent/errors.ts';
import { makeSnapshotRestore, makeSnapshotStatus } from '../../../../agent/handlers/snapshot-restore.ts';
import { layoutUnder } from '../../../../agent/policy/layout.ts';
import { EtcdClient } from '../../../../controller/etcd/client.ts';
import { checkSnapshotStream } from '../../../../controller/ops/snapshot-file.ts';
import { type EtcdBinaries, findEtcd, LocalEtcd } from '../../controller/etcd/local-etcd.ts';

const found = findEtcd();
const skip = 'skip' in found ? found.skip : !(found as EtcdBinaries).etcdctl && 'no etcdctl';
const bin = found as EtcdBinaries;
const ctx = { buildId: 'test' };

describe(`snapshot check, status and restore (etcd ${bin.version ?? 'none'})`, { skip }, () => {
  let local: LocalEtcd;
  let root: string;
  let file: string;
  let saved: string;
  const layout = () => layoutUnder(root);

  before(async () => {
    local = await LocalEtcd.cluster(bin, ['solo']);
    const client = new EtcdClient(local.endpoint('solo'), { timeoutMs: 10_000 });
    for (let i = 0; i < 20; i++) await client.put(`k${i}`, `v${i}`);
    root = mkdtempSync(join(tmpdir(), 'tskv-restore-test-'));
    mkdirSync(layout().binDir, { recursive: true });
    symlinkSync(bin.etcdctl!, join(layout().binDir, 'etcdctl'));
    mkdirSync(layout().snapshotDir, { recursive: true, mode: 0o700 });
    saved = join(root, 'saved.db');
    local.etcdctl(['snapshot', 'save', saved], [local.member('solo').clientUrl]);
    file = join(layout().snapshotDir, 'restore-test.db');
    copyFileSync(saved, file);
  });
  after(async () => {
    await local?.cleanup();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test("the controller's stream check: intact, and the member it records", async () => {
    const r = await checkSnapshotStream(createReadStream(saved, { highWaterMark: 1000 }));
    assert.equal(r.ok, true, JSON.stringify(r));
    if (r.ok) {
      assert.deepEqual(
        r.members.map((m) => [m.name, m.peerURLs]),
        [['solo', [local.member('solo').peerUrl]]],
      );
    }
  });

  test('status: the revision and sizes as etcd reads them', async () => {
    const s = await makeSnapshotStatus(layout())({ file }, ctx);
    assert.equal(s.tool, 'etcdctl');
    assert.ok(s.revision >= 21, `revision ${s.revision}`);
    assert.ok(s.totalKey >= 20);
  });

  /** The member this host's env file configures: the only data dir a restore may write into. */
  const configure = (dataDir: string) => {
    mkdirSync(dirname(layout().envFile), { recursive: true });
    writeFileSync(layout().envFile, `ETCD_NAME="solo"\nETCD_DATA_DIR="${dataDir}"\n`);
  };

  test('restore into a missing data dir; refused again once it holds member data', async () => {
    const dataDir = join(root, 'data', 'solo');
    configure(dataDir);
    const request = {
      file,
      dataDir,
      name: 'solo',
      initialCluster: [{ name: 'solo', peerUrl: 'http://127.0.0.1:2380' }],
      initialClusterToken: 'tok-restored-1',
    };
    const r = await makeSnapshotRestore(layout())(request, ctx);
    assert.equal(r.changed, true);
    assert.ok(existsSync(join(dataDir, 'member', 'snap', 'db')));
    assert.deepEqual(readdirSync(dataDir), ['member']);
    await assert.rejects(makeSnapshotRestore(layout())(request, ctx), (e: unknown) => {
      return (
        e instanceof AgentError && e.status === 403 && /holds member data: move it aside/.test(e.message)
      );
    });
  });

  test('a truncated file: etcd refuses it, and the data dir stays empty', async () => {
    const bytes = readFileSync(saved);
    const truncated = join(layout().snapshotDir, 'truncated.db');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 100));
    const dataDir = join(root, 'data', 'truncated');
    configure(dataDir);
    await assert.rejects(
      makeSnapshotRestore(layout())(
        {
          file: truncated,
          dataDir,
          name: 'solo',
          initialCluster: [{ name: 'solo', peerUrl: 'http://127.0.0.1:2380' }],
          initialClusterToken: 'tok',
        },
        ctx,
      ),
      (e: unknown) => e instanceof AgentError && e.code === 'E_AGENT_COMMAND_FAILED',
    );
    assert.deepEqual(readdirSync(dataDir), []);
  });

  test('only into the configured data dir: another one is refused before anything in it is removed', async () => {
    configure(join(root, 'data', 'configured'));
    const other = join(root, 'data', 'other');
    mkdirSync(join(other, '.tskv-restoring'), { recursive: true });
    await assert.rejects(
      makeSnapshotRestore(layout())(
        {
          file,
          dataDir: other,
          name: 'solo',
          initialCluster: [{ name: 'solo', peerUrl: 'http://127.0.0.1:2380' }],
          initialClusterToken: 'tok',
        },
        ctx,
      ),
      (e: unknown) =>
        e instanceof AgentError && /only into this member's configured data dir/.test(e.message),
    );
    assert.deepEqual(readdirSync(other), ['.tskv-restoring'], 'nothing removed');
  });

  test('files outside the snapshot folder, or not *.db, are refused', async () => {
    for (const bad of [
      saved,
      join(layout().snapshotDir, 'x.txt'),
      join(layout().snapshotDir, 'sub', 'x.db'),
    ]) {
      await assert.rejects(
        makeSnapshotStatus(layout())({ file: bad }, ctx),
        (e: unknown) =>
          e instanceof AgentError && e.status === 403 && /only a \*\.db file directly in/.test(e.message),
        bad,
      );
    }
  });
});

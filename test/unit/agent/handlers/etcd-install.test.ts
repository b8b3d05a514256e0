import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeEtcdInstall, makeEtcdLink } from '../../../../agent/handlers/etcd-install.ts';
import { layoutUnder } from '../../../../agent/policy/layout.ts';
import { FAKE_ETCD, writeFakeEtcd } from './fake-etcd.ts';

const ctx = { buildId: 'test' };

/**
 * An official-layout tarball etcd-vVERSION-linux-amd64/{etcd,etcdctl[,etcdutl]} with fake programs,
 * put in `cacheDir`.
 */
function makeTarball(dir: string, cacheDir: string, version: string, programs: string[]): string {
  const name = `etcd-v${version}-linux-amd64`;
  const stage = join(dir, `stage-${version}`);
  mkdirSync(join(stage, name), { recursive: true });
  for (const p of programs) writeFakeEtcd(join(stage, name, p));
  // The fake answers `--version` with $FAKE_VERSION or 3.4.23: bake the version in.
  writeFileSync(join(stage, name, 'etcd'), FAKE_ETCD.replace('3.4.23', version), { mode: 0o755 });
  writeFileSync(join(stage, name, 'README.md'), 'etcd\n');
  mkdirSync(cacheDir, { recursive: true, mode: 0o755 });
  const tarball = join(cacheDir, `${name}.tar.gz`);
  execFileSync('tar', ['-czf', tarball, '-C', stage, name]);
  return tarball;
}

describe('etcdInstall', () => {
  let dir: string;
  let root: string;
  let binDir: string;
  let cacheDir: string;
  let v34: string;
  let v35: string;
  let install: (tarball: string, version: string) => ReturnType<ReturnType<typeof makeEtcdInstall>>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-install-'));
    const layout = layoutUnder(dir);
    root = layout.installRoot;
    binDir = layout.binDir;
    cacheDir = layout.uploadCacheDir;
    v34 = makeTarball(dir, cacheDir, '3.4.23', ['etcd', 'etcdctl']);
    v35 = makeTarball(dir, cacheDir, '3.5.30', ['etcd', 'etcdctl', 'etcdutl']);
    const etcdInstall = makeEtcdInstall(layout);
    install = (tarball, version) => etcdInstall({ tarball, version }, ctx);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('install 3.4.23: versioned folder, links; again: no change', async () => {
    const r = await install(v34, '3.4.23');
    assert.equal(r.changed, true);
    assert.equal(r.binary, join(binDir, 'etcd'));
    assert.match(r.actions[0] ?? '', /^install etcd 3\.4\.23 from .* into .*\/v3\.4\.23$/);
    assert.deepEqual(readdirSync(root), ['v3.4.23'], 'no temporary folder left');
    assert.equal(readlinkSync(join(binDir, 'etcd')), join(root, 'v3.4.23/etcd'));
    assert.equal(readlinkSync(join(binDir, 'etcdctl')), join(root, 'v3.4.23/etcdctl'));
    assert.match(execFileSync(join(binDir, 'etcd'), ['--version'], { encoding: 'utf8' }), /3\.4\.23/);
    assert.deepEqual(await install(v34, '3.4.23'), {
      changed: false,
      actions: [],
      binary: join(binDir, 'etcd'),
    });
  });

  test('3.5.30 beside it with etcdutl; back to 3.4.23 relinks and drops the etcdutl link', async () => {
    const up = await install(v35, '3.5.30');
    assert.equal(up.changed, true);
    assert.equal(readlinkSync(join(binDir, 'etcdutl')), join(root, 'v3.5.30/etcdutl'));
    const down = await install(v34, '3.4.23');
    assert.deepEqual(down.actions, [
      `link ${join(binDir, 'etcd')} -> ${join(root, 'v3.4.23/etcd')}`,
      `link ${join(binDir, 'etcdctl')} -> ${join(root, 'v3.4.23/etcdctl')}`,
      `remove ${join(binDir, 'etcdutl')} (not in 3.4.23)`,
    ]);
    assert.deepEqual(readdirSync(binDir).sort(), ['etcd', 'etcdctl']);
    assert.deepEqual(readdirSync(root).sort(), ['v3.4.23', 'v3.5.30']);
  });

  test('a tarball of another version: refused, nothing left behind', async () => {
    await assert.rejects(install(v35, '3.5.99'), {
      code: 'E_AGENT_COMMAND_FAILED',
      message: /does not hold etcd 3\.5\.99: it holds etcd 3\.5\.30/,
    });
    assert.deepEqual(readdirSync(root).sort(), ['v3.4.23', 'v3.5.30']);
  });

  test('a missing tarball: not found', async () => {
    await assert.rejects(install(join(cacheDir, 'nope.tar.gz'), '3.4.99'), { code: 'E_AGENT_NOT_FOUND' });
  });

  test('link false stages beside the linked version; etcdLink switches to it and back', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'tskv-stage-'));
    try {
      const layout = layoutUnder(fresh);
      const a = makeTarball(fresh, layout.uploadCacheDir, '3.4.23', ['etcd', 'etcdctl']);
      const b = makeTarball(fresh, layout.uploadCacheDir, '3.5.30', ['etcd', 'etcdctl', 'etcdutl']);
      const etcdInstall = makeEtcdInstall(layout);
      const etcdLink = makeEtcdLink(layout);
      const linked = () => readlinkSync(join(layout.binDir, 'etcd'));
      await etcdInstall({ tarball: a, version: '3.4.23' }, ctx);
      const staged = await etcdInstall({ tarball: b, version: '3.5.30', link: false }, ctx);
      assert.equal(staged.actions.length, 1);
      assert.match(staged.actions[0] ?? '', /v3\.5\.30 \(not linked yet\)$/);
      assert.equal(linked(), join(layout.installRoot, 'v3.4.23/etcd'), 'the running version stays linked');
      const again = await etcdInstall({ tarball: b, version: '3.5.30', link: false }, ctx);
      assert.equal(again.changed, false);
      const up = await etcdLink({ version: '3.5.30' }, ctx);
      assert.equal(up.changed, true);
      assert.equal(linked(), join(layout.installRoot, 'v3.5.30/etcd'));
      assert.equal((await etcdLink({ version: '3.5.30' }, ctx)).changed, false);
      await etcdLink({ version: '3.4.23' }, ctx);
      assert.equal(linked(), join(layout.installRoot, 'v3.4.23/etcd'));
      assert.deepEqual(readdirSync(layout.binDir).sort(), ['etcd', 'etcdctl']);
      await assert.rejects(etcdLink({ version: '3.6.0' }, ctx), {
        code: 'E_AGENT_NOT_FOUND',
        message: /etcd 3\.6\.0 is not installed/,
      });
      assert.equal(linked(), join(layout.installRoot, 'v3.4.23/etcd'), 'a refused link changes nothing');
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});

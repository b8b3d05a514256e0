import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cacheFileName } from '../../../../agent/api/index.ts';
import { makeEtcdInstall, makeEtcdLink } from '../../../../agent/handlers/etcd-install.ts';
import { layoutUnder } from '../../../../agent/policy/layout.ts';
import { FAKE_ETCD, writeFakeEtcd } from './fake-etcd.ts';

const ctx = { buildId: 'test' };

interface Cached {
  tarball: string;
  sha256: string;
}

/**
 * An official-layout tarball etcd-vVERSION-linux-amd64/{etcd,etcdctl[,etcdutl]} with fake programs,
 * put in `cacheDir` named by its content, as the controller names it.
 */
function makeTarball(dir: string, cacheDir: string, version: string, programs: string[]): Cached {
  const name = `etcd-v${version}-linux-amd64`;
  const stage = join(dir, `stage-${version}`);
  mkdirSync(join(stage, name), { recursive: true });
  for (const p of programs) writeFakeEtcd(join(stage, name, p));
  // The fake answers `--version` with $FAKE_VERSION or 3.4.23: bake the version in.
  writeFileSync(join(stage, name, 'etcd'), FAKE_ETCD.replace('3.4.23', version), { mode: 0o755 });
  writeFileSync(join(stage, name, 'README.md'), 'etcd\n');
  mkdirSync(cacheDir, { recursive: true, mode: 0o755 });
  const made = join(stage, `${name}.tar.gz`);
  execFileSync('tar', ['-czf', made, '-C', stage, name]);
  const sha256 = createHash('sha256').update(readFileSync(made)).digest('hex');
  const tarball = join(cacheDir, cacheFileName(`${name}.tar.gz`, sha256));
  renameSync(made, tarball);
  return { tarball, sha256 };
}

describe('etcdInstall', () => {
  let dir: string;
  let root: string;
  let binDir: string;
  let cacheDir: string;
  let v34: Cached;
  let v35: Cached;
  let install: (tarball: Cached, version: string) => ReturnType<ReturnType<typeof makeEtcdInstall>>;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-install-'));
    const layout = layoutUnder(dir);
    root = layout.installRoot;
    binDir = layout.binDir;
    cacheDir = layout.uploadCacheDir;
    v34 = makeTarball(dir, cacheDir, '3.4.23', ['etcd', 'etcdctl']);
    v35 = makeTarball(dir, cacheDir, '3.5.30', ['etcd', 'etcdctl', 'etcdutl']);
    const etcdInstall = makeEtcdInstall(layout);
    install = (cached, version) => etcdInstall({ ...cached, version }, ctx);
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
    const sha256 = 'c'.repeat(64);
    const tarball = join(cacheDir, cacheFileName('nope.tar.gz', sha256));
    await assert.rejects(install({ tarball, sha256 }, '3.4.99'), { code: 'E_AGENT_NOT_FOUND' });
  });

  test('a tarball whose bytes are not the sha256 asked: refused, nothing unpacked nor linked', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'tskv-sha-'));
    try {
      const layout = layoutUnder(fresh);
      const good = makeTarball(fresh, layout.uploadCacheDir, '3.5.30', ['etcd', 'etcdctl']);
      // Another tarball of the same release under the name the controller meant: the one it asked
      // for was replaced (another controller's copy, a damaged disk).
      const other = makeTarball(join(fresh, 'other'), layout.uploadCacheDir, '3.5.30', ['etcd']);
      renameSync(other.tarball, good.tarball);
      const etcdInstall = makeEtcdInstall(layout);
      await assert.rejects(etcdInstall({ ...good, version: '3.5.30' }, ctx), {
        code: 'E_AGENT_SHA256',
        message: new RegExp(
          `^etcd tarball ${good.tarball} has sha256 ${other.sha256}, not the ${good.sha256} asked for: not unpacked`,
        ),
      });
      assert.equal(existsSync(layout.installRoot), false, 'nothing unpacked');
      assert.equal(existsSync(layout.binDir), false, 'nothing linked');
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  test('a tarball not named by the sha256 asked: refused before it is read', async () => {
    await assert.rejects(install({ tarball: v34.tarball, sha256: v35.sha256 }, '3.4.23'), {
      code: 'E_AGENT_REFUSED',
      message: new RegExp(
        `^etcd install takes only a tarball named by its content .*: ${basename(v34.tarball).replaceAll('.', '\\.')} does not carry ${v35.sha256.slice(0, 16)}$`,
      ),
    });
    const plain = join(cacheDir, 'etcd-v3.4.23-linux-amd64.tar.gz');
    copyFileSync(v34.tarball, plain);
    await assert.rejects(install({ tarball: plain, sha256: v34.sha256 }, '3.4.23'), {
      code: 'E_AGENT_REFUSED',
    });
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
      await etcdInstall({ ...a, version: '3.4.23' }, ctx);
      const staged = await etcdInstall({ ...b, version: '3.5.30', link: false }, ctx);
      assert.equal(staged.actions.length, 1);
      assert.match(staged.actions[0] ?? '', /v3\.5\.30 \(not linked yet\)$/);
      assert.equal(linked(), join(layout.installRoot, 'v3.4.23/etcd'), 'the running version stays linked');
      const again = await etcdInstall({ ...b, version: '3.5.30', link: false }, ctx);
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

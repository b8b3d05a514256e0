/**
 * etcd.fetch: host on the lab: the host downloads the tarball from a mirror itself (plain http,
 * served from the lab's bridge namespace, which the hosts reach without a default route), checks
 * its sha256, and the controller pushes no tarball. A wrong sha256 is refused on the host with
 * nothing installed nor kept.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { etcdVersionDir, UPLOAD_CACHE_DIR } from '../../agent/api/index.ts';
import { ETCD_ENV_FILE } from '../../controller/render/settings.ts';
import type { EtcdTarball } from '../../lab/etcd-tarball.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { pollUntil } from '../../lab/run.ts';
import { assertDeployed, deploy } from './deploy-helpers.ts';

const NAME = 'fe-fetch';
const PORT = 8099;

const sha256Of = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('etcd.fetch: host (the host downloads the tarball itself)', {
  skip: labUnavailableReason() ?? false,
}, () => {
  let lab: Lab;
  let tarball: EtcdTarball;
  let mirror: string;
  let server: ChildProcess | undefined;
  /** The mirror's access log (python's http.server logs each request on stderr). */
  let log = '';
  let url: string;

  before(async () => {
    lab = await Lab.up({ name: NAME, hosts: ['h1'], fresh: true });
    tarball = await lab.etcdTarball('3.4');
    mirror = mkdtempSync(join(tmpdir(), 'tskv-fe-mirror-'));
    copyFileSync(tarball.path, join(mirror, basename(tarball.path)));
    const address = lab.layout.controllerAddress;
    server = spawn(
      'ip',
      [
        'netns',
        'exec',
        lab.layout.netns,
        'python3',
        '-m',
        'http.server',
        '--bind',
        address,
        String(PORT),
        '--directory',
        mirror,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    server.stderr!.on('data', (d: Buffer) => {
      log += d;
    });
    url = `http://${address}:${PORT}/${basename(tarball.path)}`;
    const h1 = lab.host('h1');
    await pollUntil(
      'the mirror to answer h1',
      async () => ((await h1.exec(`curl -sf -o /dev/null -I ${url}`)).code === 0 ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  });
  after(async () => {
    server?.kill();
    rmSync(mirror, { recursive: true, force: true });
    await Lab.down(NAME);
  });

  const gets = () => log.split('\n').filter((l) => l.includes(`"GET /${basename(tarball.path)} `)).length;

  test('a wrong sha256 is refused on the host, naming host, step, URL and cause; nothing is installed or kept', async () => {
    const inventory = lab.writeInventory(
      { etcd: { version: tarball.version, source: url, sha256: 'ab'.repeat(32), fetch: 'host' } },
      'wrong-sha.yaml',
    );
    const run = await deploy(inventory);
    assert.equal(run.result.code, 1, run.result.stdout + run.result.stderr);
    const err = run.doc.error!;
    const agentLog = async () => (await lab.host('h1').exec('tail -n 40 /run/tskv/agent-*.log')).stdout;
    assert.equal(err.code, 'E_ETCD_SHA256', `${JSON.stringify(err)}\n${await agentLog()}`);
    assert.equal(err.host, 'h1');
    assert.equal(err.step, 'fetch etcd tarball');
    assert.ok(err.message.includes(url), err.message);
    assert.match(err.message, /not the expected abab/);
    assert.ok(gets() >= 1, 'the host asked the mirror');
    const h1 = lab.host('h1');
    const left = await h1.exec(
      `ls -A ${UPLOAD_CACHE_DIR}; test -e ${etcdVersionDir(tarball.version)} && echo INSTALLED; test -e ${ETCD_ENV_FILE} && echo ENV; true`,
    );
    assert.doesNotMatch(left.stdout, /etcd-v|\.part-|INSTALLED|ENV/, left.stdout);
  });

  test('the host downloads and verifies the tarball, the controller uploads none; a re-run fetches nothing', async () => {
    const before = gets();
    const inventory = lab.writeInventory(
      { etcd: { version: tarball.version, source: url, sha256: sha256Of(tarball.path), fetch: 'host' } },
      'fetch-host.yaml',
    );
    const run = await deploy(inventory);
    assertDeployed(run);
    const actions = run.doc.actions['h1'] ?? [];
    assert.ok(
      actions.some(
        (a) => a.startsWith(`download ${url} into ${UPLOAD_CACHE_DIR}/`) && a.endsWith('sha256 verified)'),
      ),
      actions.join('\n'),
    );
    assert.ok(!actions.some((a) => /^uploaded /.test(a)), actions.join('\n'));
    const install = run.doc.plan!.steps.find((s) => s.kind === 'install' && s.host === 'h1');
    assert.match(install!.title, /downloaded by the host from http:/);
    assert.equal(gets(), before + 1, 'one download from the mirror');
    const again = await deploy(inventory);
    assertDeployed(again);
    assert.equal(gets(), before + 1, 'a re-run downloads nothing');
  });
});

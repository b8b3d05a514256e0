/**
 * What a push shows, on one fresh host: the plain output names each transfer's bytes, seconds and
 * rate at its end (the agent, pushed by a dry run), and deploy --json lists every transfer (the
 * etcd tarball, pushed while preflight runs), with --forks taken by the real CLI.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AgentManifest } from '../../agent/api/index.ts';
import { loadAgentBuild } from '../../controller/agent-client/manifest.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { tskv } from './cli.ts';
import { assertDeployed, deploy } from './deploy-helpers.ts';

const NAME = 'pg-progress';

describe('transfer figures in plain and JSON output', { skip: labUnavailableReason() ?? false }, () => {
  let lab: Lab;
  let inventory: string;

  before(async () => {
    lab = await Lab.up({ name: NAME, hosts: ['h1'], fresh: true });
    const tarball = await lab.etcdTarball('3.4');
    inventory = lab.writeInventory(
      { etcd: { version: tarball.version, source: tarball.path } },
      'progress.yaml',
    );
  });
  after(() => Lab.down(NAME));

  test('the agent push ends with its figures in plain output; the tarball push is in deploy --json', async () => {
    const { manifest } = await loadAgentBuild();
    const sizes = (f: AgentManifest['code']) => [f.compressed.size, f.fallback.size];

    const dry = await tskv(['deploy', inventory, '--dry-run']);
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    for (const kind of ['runtime', 'code'] as const) {
      const m = new RegExp(`agent ${kind} (\\d+\\.\\d) MB in (\\d+\\.\\d) s \\((\\d+\\.\\d) MB/s\\)`).exec(
        dry.stderr,
      );
      assert.ok(m, `no end line for the agent ${kind}:\n${dry.stderr}`);
      assert.ok(
        sizes(manifest[kind]).some((s) => (s / 1e6).toFixed(1) === m[1]),
        `${m[1]} MB is not the size of the agent ${kind}`,
      );
    }

    const run = await deploy(inventory, ['--forks', '1']);
    assertDeployed(run);
    const tarballs = run.doc.transfers.filter((t) => t.what === 'etcd tarball');
    assert.equal(tarballs.length, 1, JSON.stringify(run.doc.transfers));
    const t = tarballs[0]!;
    assert.equal(t.host, 'h1');
    assert.ok(t.bytes > 1e6 && t.seconds > 0, JSON.stringify(t));
    // The seconds are rounded to the millisecond, the rate is not.
    assert.ok(Math.abs(t.bytesPerSecond - t.bytes / t.seconds) / t.bytesPerSecond < 0.01, JSON.stringify(t));
    assert.ok(
      !run.doc.transfers.some((x) => x.what.startsWith('agent')),
      'the agent pushed by the dry run is not pushed again',
    );
  });
});

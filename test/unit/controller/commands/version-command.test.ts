import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { formatVersion } from '../../../../controller/commands/version.ts';

const REPO = resolve(import.meta.dirname, '../../../..');
const NODE = process.execPath;
const tskv = (...args: string[]) =>
  execFileSync(NODE, [resolve(REPO, 'controller/cli.ts'), ...args], { encoding: 'utf8' });

describe('tskv --version', () => {
  const pkg = JSON.parse(readFileSync(resolve(REPO, 'package.json'), 'utf8')) as { version: string };

  test('tskv --version and tskv version: the version, the agent build, Node; exit 0', () => {
    for (const args of [['--version'], ['version'], ['-V']]) {
      const out = tskv(...args); // throws on a non-zero exit
      const lines = out.trim().split('\n');
      assert.equal(lines[0], `tskv ${pkg.version}`, args.join(' '));
      assert.match(lines[1]!, /^agent (build [0-9a-f]+ \(API \d+\)|not built \(npm run build\))$/);
      assert.equal(lines[2], `node ${process.version}`);
    }
    const doc = JSON.parse(tskv('version', '--json')) as Record<string, unknown>;
    assert.equal(doc.tskv, pkg.version);
    assert.equal(doc.node, process.version);
    assert.ok('agentBuild' in doc);
  });

  test('no agent build: said so, not a failure', () => {
    assert.equal(
      formatVersion({ tskv: '1.2.3', agentBuild: null, agentApi: null, node: 'v24.0.0' }),
      'tskv 1.2.3\nagent not built (npm run build)\nnode v24.0.0\n',
    );
  });

  test('in the help, and offered by completion', () => {
    const help = tskv('--help');
    assert.match(help, /^ {2}version +print tskv's version/m);
    assert.match(help, /--version/);
    assert.match(help, /--forks N/);
    assert.deepEqual(tskv('__complete', '1', 'tskv', '--').trim().split('\n'), [
      '--version',
      '--help',
      '--forks',
    ]);
    assert.deepEqual(tskv('__complete', '1', 'tskv', 'vers').trim().split('\n'), ['version']);
    assert.deepEqual(tskv('__complete', '3', 'tskv', 'deploy', 'inv.yaml', '--fo').trim().split('\n'), [
      '--forks',
    ]);
  });
});

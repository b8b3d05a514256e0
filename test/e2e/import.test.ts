/**
 * `tskv import ansible` on kubespray's sample inventory.ini (filled in as an operator does, with the
 * lab's addresses, key, known_hosts and proxy in the Ansible variables): the inventory it writes
 * deploys on init-less hosts and status is healthy. Then `tskv ssh` runs a command on a member
 * with that inventory's settings, its output and exit code passed through.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseDocument } from 'yaml';
import type { StatusReport } from '../../controller/plays/status.ts';
import { Lab, labUnavailableReason } from '../../lab/lab.ts';
import { tskv, tskvJson } from './cli.ts';
import { assertDeployed, deploy } from './deploy-helpers.ts';

const NAME = 'e2e-imp';
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'tskv');
const SAMPLE = join(
  import.meta.dirname,
  '..',
  'unit',
  'controller',
  'import',
  'fixtures',
  'kubespray-filled.ini',
);

describe('tskv import ansible and tskv ssh (init-less hosts)', {
  skip: labUnavailableReason() ?? false,
}, () => {
  let lab: Lab;
  let ansible: string;
  let inventory: string;

  before(async () => {
    lab = await Lab.up({ name: NAME, hosts: ['h102', 'docker', 'h104'], fresh: true });
    const { keyPath, knownHostsPath, proxyCommand, dir } = lab.layout;
    const [a, b, c] = lab.hosts.map((h) => h.address);
    const sample = readFileSync(SAMPLE, 'utf8')
      .replace('95.54.0.12', a!)
      .replace('95.54.0.13', b!)
      .replace('95.54.0.14', c!);
    ansible = join(dir, 'kubespray.ini');
    writeFileSync(
      ansible,
      `${sample}\n[all:vars]\nansible_user=root\nansible_ssh_private_key_file=${keyPath}\n` +
        `ansible_ssh_common_args='-o ProxyCommand="${proxyCommand}" -o UserKnownHostsFile=${knownHostsPath}'\n`,
    );
    inventory = join(dir, 'imported.yaml');
    rmSync(inventory, { force: true }); // an earlier run's (the lab's folder outlives it)
    rmSync(join(dir, 'imported.pki'), { recursive: true, force: true });
  });
  after(() => Lab.down(NAME));

  test('import writes an inventory of the etcd group that deploys; status healthy', async () => {
    const r = await tskv([
      'import',
      'ansible',
      ansible,
      '--out',
      inventory,
      '--etcd-version',
      lab.state.etcd.version,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /wrote .*imported\.yaml: 3 hosts/);
    const again = await tskv(['import', 'ansible', ansible, '--out', inventory]);
    assert.equal(again.code, 2, 'refuses to overwrite');
    // The lab's etcd tarball (no download in the lab).
    const doc = parseDocument(readFileSync(inventory, 'utf8'));
    doc.setIn(['etcd', 'source'], lab.state.etcd.path);
    writeFileSync(inventory, doc.toString());
    assert.deepEqual(Object.keys(doc.toJS().hosts), ['node1', 'node2', 'node3']);

    assertDeployed(await deploy(inventory));
    const status = await tskvJson<StatusReport>(['status', inventory]);
    assert.equal(status.result.code, 0, status.result.stdout + status.result.stderr);
    assert.deepEqual(status.doc.members.map((m) => m.name).sort(), ['node1', 'node2', 'node3']);
    assert.ok(status.doc.members.every((m) => m.healthy));
  });

  test('tskv ssh runs one command: stdout, stderr and exit code passed through', async () => {
    const r = await tskv(['ssh', inventory, 'node2', '--', 'echo "on $(hostname)"; echo oops >&2; exit 7']);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stdout, /^on \S+\n$/);
    assert.equal(r.stderr, 'oops\n');
    const unknown = await tskv(['ssh', inventory, 'node9', '--', 'true']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /has no host 'node9' \(its hosts: node1, node2, node3\)/);
  });
  test('tskv ssh without a command: an interactive shell on a terminal (util-linux script as the terminal)', async () => {
    // script -e: its exit code is the shell's; stdin stays open until the shell ends (as a typist's).
    const child = spawn('script', ['-qfec', `${BIN} ssh ${inventory} node1`, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d;
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdin.write('tty; echo "answer-$((6 * 7))"; exit 3\n');
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 3, out);
    assert.match(out, /answer-42/);
    assert.match(out, /\/dev\/pts\/\d+/, 'the remote shell has a pseudo-terminal');
  });
});

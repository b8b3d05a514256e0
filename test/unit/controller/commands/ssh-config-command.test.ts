/** `tskv ssh-config INVENTORY`: each host's effective SSH settings with their sources, and bad configs as exit 2. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';

const root = resolve(import.meta.dirname, '../../../..');
const run = promisify(execFile);
const bin = resolve(root, 'bin/tskv');
const dir = mkdtempSync(join(tmpdir(), 'tskv-sshcfg-cmd-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function tskv(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(bin, args, { cwd: root });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function inventory(config: string): string {
  return write(
    'inv.yaml',
    `cluster: { token: t }
etcd: { version: 3.5.17 }
ssh: { configFile: ${config}, connectTimeout: 3 }
hosts:
  a: { address: 10.0.0.1, ssh: { host: etcd-a, port: 2200 } }
  b: { address: 10.0.0.2 }
  c: { address: 10.0.0.3 }
`,
  );
}

describe('tskv ssh-config', () => {
  test('prints each setting with the inventory line, the ssh_config line or default', async () => {
    const config = write(
      'config',
      'Host etcd-*\n  User ops\n  Port 2222\n  HostName 192.0.2.7\n  ProxyJump ops@bastion:22\n',
    );
    const inv = inventory(config);
    const r = await tskv('ssh-config', inv, '--host', 'a');
    assert.equal(r.code, 0, r.stderr);
    const line = (label: string): string =>
      r.stdout.split('\n').find((l) => l.trimStart().startsWith(`${label} `)) ?? '';
    assert.match(line('host'), new RegExp(`192\\.0\\.2\\.7 +ssh_config ${config}:4$`));
    assert.match(line('user'), new RegExp(`ops +ssh_config ${config}:2$`));
    assert.match(line('port'), new RegExp(`2200 +inventory ${inv}:5$`));
    assert.match(line('connectTimeout'), new RegExp(`3s +inventory ${inv}:3$`));
    // The jump host's own settings follow, indented, resolved for its own name.
    const hop = r.stdout.slice(r.stdout.indexOf('  via jump host bastion:22 (bastion)'));
    assert.match(hop, /^ {2}via jump host bastion:22 \(bastion\)\n {4}host +bastion +inventory address\n/);
    assert.match(hop, new RegExp(`\n {4}user +ops +proxyJump ops@bastion:22 \\(ssh_config ${config}:5\\)\n`));
    assert.match(hop, new RegExp(`\n {4}connectTimeout +3s +inventory ${inv}:3\n`));
    assert.match(line('proxyJump'), new RegExp(`ops@bastion:22 +ssh_config ${config}:5$`));
    assert.match(line('hostKeyPolicy'), /strict +default$/);
  });

  test('a config with a syntax error: exit 2 naming file and line, no stack trace', async () => {
    const config = write('bad-config', 'Host *\n  User ok\n  IdentityFile "broken\n');
    const r = await tskv('ssh-config', inventory(config));
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`${config}:3: unterminated quoted string`));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  test('an Include loop: exit 2 naming file and line', async () => {
    const a = join(dir, 'loop-a');
    write('loop-b', `Include ${a}\n`);
    write('loop-a', `Include ${join(dir, 'loop-b')}\n`);
    const r = await tskv('ssh-config', inventory(a));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /loop-b:1: Include loop/);
  });
});

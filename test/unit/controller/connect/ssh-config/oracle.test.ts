/** tskv's ssh_config reading against OpenSSH's own: `ssh -G -F CONFIG HOST` on this machine is the oracle. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sshGView } from '../../../../../controller/connect/ssh-config/effective.ts';
import { parseSshConfigFile } from '../../../../../controller/connect/ssh-config/parse.ts';
import { resolveSshConfig } from '../../../../../controller/connect/ssh-config/resolve.ts';

// OpenSSH takes ~ and %d from the password database, not $HOME.
const ctx = { home: userInfo().homedir, localUser: userInfo().username };
const KEYS = new Set([
  'user',
  'hostname',
  'port',
  'identityfile',
  'identitiesonly',
  'identityagent',
  'proxyjump',
  'proxycommand',
  'userknownhostsfile',
  'stricthostkeychecking',
  'connecttimeout',
  'serveraliveinterval',
  'hostkeyalias',
]);

const hasSsh = spawnSync('ssh', ['-V']).status === 0;
const root = mkdtempSync(join(tmpdir(), 'tskv-sshcfg-'));
after(() => rmSync(root, { recursive: true, force: true }));

function sshG(config: string, host: string): Record<string, string> {
  const r = spawnSync('ssh', ['-G', '-F', config, host], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  assert.equal(r.status, 0, r.stderr);
  const view: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const at = line.indexOf(' ');
    const key = line.slice(0, at);
    if (!KEYS.has(key)) continue;
    view[key] = view[key] === undefined ? line.slice(at + 1) : `${view[key]}\n${line.slice(at + 1)}`;
  }
  return view;
}

interface Case {
  name: string;
  /** Files by name relative to the case's folder; `main` is the config. `@DIR@` stands for the folder. */
  files: Record<string, string>;
  hosts: string[];
}

const CASES: Case[] = [
  { name: 'empty config: defaults', files: { main: '' }, hosts: ['web1'] },
  { name: 'exact Host', files: { main: 'Host web1\n  User bob\n  Port 2200\n' }, hosts: ['web1', 'web2'] },
  { name: 'star pattern', files: { main: 'Host web*\n  User bob\n' }, hosts: ['web1', 'db1'] },
  { name: 'question mark', files: { main: 'Host web?\n  Port 2022\n' }, hosts: ['web1', 'web12'] },
  {
    name: 'several patterns on one line',
    files: { main: 'Host a b c*\n  User multi\n' },
    hosts: ['a', 'b', 'cx', 'd'],
  },
  {
    name: 'negation excludes',
    files: { main: 'Host *.prod !bastion.prod\n  ProxyJump bastion.prod\n' },
    hosts: ['db.prod', 'bastion.prod', 'db.test'],
  },
  { name: 'negation alone never matches', files: { main: 'Host !x\n  User neg\n' }, hosts: ['y', 'x'] },
  {
    name: 'first obtained value wins',
    files: { main: 'Host web1\n  User first\nHost *\n  User second\n  Port 23\n' },
    hosts: ['web1', 'other'],
  },
  {
    name: 'first value wins inside one block',
    files: { main: 'Host *\n  Port 2201\n  Port 2202\n' },
    hosts: ['h'],
  },
  {
    name: 'global lines before any Host',
    files: { main: 'User global\nHost h\n  User late\n' },
    hosts: ['h'],
  },
  {
    name: 'case-insensitive keywords and host names',
    files: { main: 'HOST Web1\n  uSeR mixed\n  PORT 2300\n' },
    hosts: ['web1', 'WEB1'],
  },
  { name: 'keyword=value', files: { main: 'Host=h\n  User=eq\n  Port = 2400\n' }, hosts: ['h'] },
  {
    name: 'HostName with %h',
    files: { main: 'Host *.lab\n  HostName %h.example.com\n' },
    hosts: ['a.lab', 'b'],
  },
  { name: 'HostName literal', files: { main: 'Host alias\n  HostName 10.0.0.5\n' }, hosts: ['alias'] },
  {
    name: 'several IdentityFiles accumulate',
    files: {
      main: 'Host h\n  IdentityFile ~/.ssh/a\nHost *\n  IdentityFile ~/.ssh/b\n  IdentityFile /k/c\n',
    },
    hosts: ['h', 'x'],
  },
  {
    name: 'IdentityFile tokens kept raw like ssh -G',
    files: { main: 'Host *\n  IdentityFile ~/.ssh/%h-%p-%r-%u\n  IdentityFile %d/k\n' },
    hosts: ['t1'],
  },
  {
    name: 'IdentitiesOnly and IdentityAgent',
    files: { main: 'Host *\n  IdentitiesOnly yes\n  IdentityAgent ~/.ssh/agent-%r.sock\n  User u1\n' },
    hosts: ['h'],
  },
  {
    name: 'ProxyJump with user and port',
    files: { main: 'Host inner*\n  ProxyJump ops@bastion:2222,second\n' },
    hosts: ['inner1', 'outer'],
  },
  {
    name: 'ProxyCommand',
    files: { main: 'Host *\n  ProxyCommand ssh -W %h:%p gateway\n' },
    hosts: ['h'],
  },
  {
    name: 'ProxyCommand first wins over ProxyJump',
    files: { main: 'Host *\n  ProxyCommand nc %h %p\n  ProxyJump j1\n' },
    hosts: ['h'],
  },
  {
    name: 'ProxyJump first wins over ProxyCommand',
    files: { main: 'Host *\n  ProxyJump j1\n  ProxyCommand nc %h %p\n' },
    hosts: ['h'],
  },
  {
    name: 'ProxyJump none stops a later one',
    files: { main: 'Host direct\n  ProxyJump none\nHost *\n  ProxyJump bastion\n' },
    hosts: ['direct', 'other'],
  },
  {
    name: 'UserKnownHostsFile with tokens',
    files: { main: 'Host *\n  UserKnownHostsFile ~/.ssh/kh-%h %d/other_kh\n' },
    hosts: ['h'],
  },
  {
    name: 'StrictHostKeyChecking values',
    files: {
      main: 'Host y\n  StrictHostKeyChecking yes\nHost n\n  StrictHostKeyChecking no\nHost a\n  StrictHostKeyChecking accept-new\nHost k\n  StrictHostKeyChecking ask\n',
    },
    hosts: ['y', 'n', 'a', 'k'],
  },
  {
    name: 'timeouts',
    files: { main: 'Host *\n  ConnectTimeout 7\n  ServerAliveInterval 15\n' },
    hosts: ['h'],
  },
  { name: 'HostKeyAlias', files: { main: 'Host h\n  HostKeyAlias h-key\n' }, hosts: ['h', 'g'] },
  {
    name: 'quoted values and comments',
    files: { main: '# top\nHost "q h" # trailing\n  User "quoted"\n  IdentityFile "/k/with space"\n' },
    hosts: ['q', 'h'],
  },
  {
    name: 'Include absolute',
    files: { main: 'Include @DIR@/inc\nHost *\n  User main\n', inc: 'Host h\n  User included\n' },
    hosts: ['h', 'x'],
  },
  {
    name: 'Include glob in sorted order',
    files: {
      main: 'Include @DIR@/conf.d/*.conf\n',
      'conf.d/20-b.conf': 'Host *\n  User twenty\n  Port 2020\n',
      'conf.d/10-a.conf': 'Host *\n  User ten\n',
    },
    hosts: ['h'],
  },
  {
    name: 'Include inside a Host block is conditional',
    files: {
      main: 'Host h\n  Include @DIR@/inc\nHost *\n  User fallback\n',
      inc: 'User fromInclude\nPort 2500\n',
    },
    hosts: ['h', 'x'],
  },
  {
    name: 'Include restores the enclosing block',
    files: {
      main: 'Host h\n  Include @DIR@/inc\n  Port 2600\nHost *\n  User fallback\n',
      inc: 'Host nomatch\n  User never\n',
    },
    hosts: ['h', 'x'],
  },
  {
    name: 'Include of a missing file is ignored',
    files: { main: 'Include @DIR@/nope\nUser u\n' },
    hosts: ['h'],
  },
  {
    name: 'Match host uses HostName so far',
    files: { main: 'Host web\n  HostName 10.1.2.3\nMatch host 10.1.*\n  User matched\n' },
    hosts: ['web', 'other'],
  },
  {
    name: 'Match originalhost',
    files: { main: 'Host web\n  HostName 10.1.2.3\nMatch originalhost web\n  Port 2700\n' },
    hosts: ['web', 'x'],
  },
  {
    name: 'Match user',
    files: { main: 'Host a\n  User deploy\nMatch user deploy\n  Port 2800\n' },
    hosts: ['a', 'b'],
  },
  {
    name: 'Match negated and pattern lists',
    files: { main: 'Match !host db*,cache*\n  User notdb\nMatch host db*,!db9\n  Port 2900\n' },
    hosts: ['db1', 'db9', 'web'],
  },
  {
    name: 'Match all',
    files: { main: 'Host h\n  User hu\nMatch all\n  User all\n  Port 3000\n' },
    hosts: ['h', 'x'],
  },
  {
    name: 'Match with two criteria',
    files: { main: 'Match host h* user ' + userInfo().username + '\n  Port 3100\n' },
    hosts: ['h1', 'x'],
  },
  {
    name: 'known but unused options are ignored',
    files: { main: 'Host *\n  ForwardAgent yes\n  ServerAliveCountMax 5\n  Compression yes\n  User u\n' },
    hosts: ['h'],
  },
];

function writeCase(c: Case, index: number): string {
  const dir = join(root, `case${index}`);
  for (const [name, text] of Object.entries(c.files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text.replaceAll('@DIR@', dir));
  }
  return join(dir, 'main');
}

describe('ssh_config effective settings equal ssh -G', { skip: hasSsh ? false : 'no ssh binary' }, () => {
  let count = 0;
  CASES.forEach((c, index) => {
    for (const host of c.hosts) {
      count++;
      test(`${c.name} (${host})`, () => {
        const file = writeCase(c, index);
        const { values } = resolveSshConfig(parseSshConfigFile(file, ctx), host, ctx);
        assert.deepEqual(sshGView(values, host, ctx), sshG(file, host));
      });
    }
  });
  test('at least 30 cases', () => assert.ok(count >= 30, `${count}`));
});

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { InputError } from '../../../../controller/errors.ts';
import { loadInventory, parseInventory } from '../../../../controller/inventory/load.ts';
import { OWNED_FLAGS } from '../../../../controller/inventory/owned-flags.ts';
import { renderHost, renderSettings } from '../../../../controller/render/render.ts';
import { envName, etcdSettings, type Setting } from '../../../../controller/render/settings.ts';
import { clientUrl, peerUrl } from '../../../../controller/render/urls.ts';

type Pairs = [string, string][];

/** Settings' values by flag. */
const values = (settings: readonly Setting[]) => new Map(settings.map((s) => [s.flag, s.value]));

/** A command line's flag/value pairs; `-flag` and `--flag` are the same flag. */
function flagPairs(command: string): Pairs {
  const words = command.replace(/\\\n/g, ' ').trim().split(/\s+/).slice(1);
  const pairs: Pairs = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    assert.match(word, /^--?[a-z]/, `expected a flag, got ${word}`);
    const [flag, value] = word.includes('=') ? word.split(/=(.*)/) : [word, words[++i]];
    pairs.push([flag!.replace(/^--?/, ''), value!]);
  }
  return pairs;
}

/** The seed's three commands by member name (shell prompts and continuation prompts removed). */
function seedCommands(): Map<string, Pairs> {
  const text = readFileSync(join(import.meta.dirname, 'seed-commands.txt'), 'utf8');
  const commands = text
    .split('\n\n')
    .map((block) =>
      block
        .replace(/^#.*\n/, '')
        .replace(/^> /gm, '')
        .replace(/^\[[^\]]*\]# /, ''),
    )
    .filter((block) => block.startsWith('./etcd'));
  assert.equal(commands.length, 3);
  const byName = new Map<string, Pairs>();
  for (const command of commands) {
    const pairs = flagPairs(command);
    byName.set(pairs[0]![1], pairs);
  }
  return byName;
}

const SEED = resolve(import.meta.dirname, '../../../../inventories/seed.yaml');

describe('render: the seed cluster', async () => {
  const inv = await loadInventory(SEED);
  const seed = seedCommands();

  for (const name of ['h102', 'docker', 'h104']) {
    test(`${name}: flags match the seed's command flag for flag, then --data-dir`, () => {
      const rendered = flagPairs(renderHost(inv, name, 'flags'));
      assert.deepEqual(rendered.slice(0, -1), seed.get(name));
      assert.deepEqual(rendered.at(-1), ['data-dir', `/var/lib/etcd/${name}.etcd`]);
    });
  }

  test('the command line is etcd then one flag per line', () => {
    const out = renderHost(inv, 'h102', 'flags');
    const lines = out.trimEnd().split('\n');
    assert.equal(lines[0], '/usr/local/bin/etcd \\');
    assert.equal(lines[1], '  --name h102 \\');
    assert.equal(lines.at(-1), '  --data-dir /var/lib/etcd/h102.etcd');
    assert.ok(out.endsWith('\n'));
  });

  test('env file: ETCD_ + upper-case flag, - to _, values in double quotes, same settings', () => {
    const host = inv.hosts.find((h) => h.name === 'docker')!;
    const lines = renderHost(inv, 'docker', 'env')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    const expected = etcdSettings(inv, host).map(
      ({ flag, value }) => `ETCD_${flag.toUpperCase().replaceAll('-', '_')}="${value}"`,
    );
    assert.deepEqual(lines, expected);
    assert.equal(lines[0], 'ETCD_NAME="docker"');
    assert.equal(
      lines[6],
      'ETCD_INITIAL_CLUSTER="docker=http://192.168.100.103:2380,h102=http://192.168.100.102:2380,h104=http://192.168.100.104:2380"',
    );
    assert.equal(envName('initial-advertise-peer-urls'), 'ETCD_INITIAL_ADVERTISE_PEER_URLS');
  });

  test('systemd unit reads the env file and passes etcd no flags', () => {
    const unit = renderHost(inv, 'h104', 'systemd');
    const lines = unit.split('\n');
    assert.ok(lines.includes('[Unit]'));
    assert.ok(lines.includes('[Service]'));
    assert.ok(lines.includes('[Install]'));
    assert.ok(lines.includes('EnvironmentFile=/etc/etcd/etcd.env'));
    assert.ok(lines.includes('ExecStart=/usr/local/bin/etcd'));
    assert.ok(lines.includes('WantedBy=multi-user.target'));
    assert.ok(lines.includes('Description=etcd key-value store (member h104)'));
    assert.ok(!/--/.test(lines.filter((l) => l.startsWith('Exec')).join('\n')));
    // etcd as the etcd user, sandboxed, writing only its data dir.
    for (const line of [
      'User=etcd',
      'Group=etcd',
      'Restart=on-failure',
      'TimeoutStartSec=300',
      'LimitNOFILE=65536',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/etcd/h104.etcd',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'CapabilityBoundingSet=',
    ]) {
      assert.ok(lines.includes(line), line);
    }
    assert.ok(!lines.some((l) => l.startsWith('AmbientCapabilities=')));
  });

  test('an unknown host is an InputError listing the valid names', () => {
    assert.throws(
      () => renderHost(inv, 'h103', 'flags'),
      (err: unknown) => {
        assert.ok(err instanceof InputError);
        assert.match(err.message, /no host 'h103' in .*seed\.yaml; its hosts are: docker, h102, h104$/);
        return true;
      },
    );
  });
});

const OTHER = `cluster: { token: tok, clientPort: 12379, peerPort: 12380 }
etcd:
  version: 3.5.17
  source: ./etcd.tgz
  flags: { enable-v2: true, snapshot-count: 5000, log-outputs: "stderr", auto-compaction-retention: "1h 30m" }
hosts:
  a: { address: 10.0.0.1 }
  b: { address: "fd00::2", dataDir: /srv/b }
  c: { address: 10.0.0.3 }
`;

describe('render: settings', () => {
  const inv = parseInventory(OTHER, '/tmp/other.yaml');
  const [a, b] = inv.hosts;

  test('extra flags follow --data-dir in inventory order', () => {
    assert.deepEqual(etcdSettings(inv, a!).slice(8), [
      { flag: 'data-dir', value: '/var/lib/etcd/a.etcd', source: 'tskv' },
      { flag: 'enable-v2', value: 'true', source: 'inventory' },
      { flag: 'snapshot-count', value: '5000', source: 'inventory' },
      { flag: 'log-outputs', value: 'stderr', source: 'inventory' },
      { flag: 'auto-compaction-retention', value: '1h 30m', source: 'inventory' },
    ]);
    const out = renderHost(inv, 'a', 'flags');
    // Extra flags take the --flag=value form: Go's flag package refuses `--enable-v2 true`.
    assert.match(
      out,
      /--data-dir \/var\/lib\/etcd\/a.etcd \\\n {2}--enable-v2=true \\\n {2}--snapshot-count=5000 \\\n/,
    );
    assert.match(out, / '--auto-compaction-retention=1h 30m'\n$/);
    assert.match(renderHost(inv, 'a', 'env'), /^ETCD_AUTO_COMPACTION_RETENTION="1h 30m"$/m);
  });

  test("a setting's form follows who sets it, not its place in the list", () => {
    const settings = etcdSettings(inv, a!);
    const own = settings.filter((s) => s.source === 'tskv');
    const extra = settings.filter((s) => s.source === 'inventory');
    const out = renderSettings(inv, a!, 'flags', [...extra, ...own]);
    assert.match(out, /^\/usr\/local\/bin\/etcd \\\n {2}--enable-v2=true \\\n {2}--snapshot-count=5000 \\\n/);
    assert.match(out, / '--auto-compaction-retention=1h 30m' \\\n {2}--name a \\\n/);
    assert.match(out, / --data-dir \/var\/lib\/etcd\/a.etcd\n$/);
  });

  test('tskv sets every flag it owns, once, and the inventory may set none of them', () => {
    const owned = etcdSettings(inv, a!).filter((s) => s.source === 'tskv');
    assert.deepEqual(owned.map((s) => s.flag).sort(), Object.keys(OWNED_FLAGS).sort());
    for (const flag of Object.keys(OWNED_FLAGS)) {
      assert.throws(
        () => parseInventory(OTHER.replace('flags: {', `flags: { ${flag}: x,`), '/tmp/own.yaml'),
        new RegExp(`etcd flag '${flag}' cannot be set in etcd\\.flags: tskv `),
      );
    }
  });

  test('IPv6 addresses are bracketed in URLs; ports come from the cluster', () => {
    assert.equal(peerUrl(b!, inv), 'http://[fd00::2]:12380');
    assert.equal(clientUrl(b!, inv), 'http://[fd00::2]:12379');
    const settings = values(etcdSettings(inv, b!));
    assert.equal(settings.get('listen-client-urls'), 'http://[fd00::2]:12379,http://127.0.0.1:12379');
    assert.equal(settings.get('data-dir'), '/srv/b');
  });

  test('a member on 127.0.0.1 listens on the loopback client URL once', () => {
    const local = parseInventory(OTHER.replace('10.0.0.1', '127.0.0.1'), '/tmp/local.yaml');
    const settings = values(etcdSettings(local, local.hosts[0]!));
    assert.equal(settings.get('listen-client-urls'), 'http://127.0.0.1:12379');
  });

  test('state existing and an explicit initial cluster (joining member)', () => {
    const settings = values(
      etcdSettings(inv, a!, {
        state: 'existing',
        initialCluster: [
          { name: 'c', peerUrl: 'http://10.0.0.3:12380' },
          { name: 'a', peerUrl: 'http://10.0.0.1:12380' },
        ],
      }),
    );
    assert.equal(settings.get('initial-cluster-state'), 'existing');
    assert.equal(settings.get('initial-cluster'), 'c=http://10.0.0.3:12380,a=http://10.0.0.1:12380');
    const env = renderHost(inv, 'a', 'env', { state: 'existing' });
    assert.match(env, /^ETCD_INITIAL_CLUSTER_STATE="existing"$/m);
  });

  test('env values escape what double quotes would expand', () => {
    const odd = parseInventory(
      OTHER.replace('log-outputs: "stderr"', "log-outputs: 'a\"b$c\\d'"),
      '/tmp/o.yaml',
    );
    assert.match(renderHost(odd, 'a', 'env'), /^ETCD_LOG_OUTPUTS="a\\"b\\\$c\\\\d"$/m);
  });
});

describe('render: an inventory with its own templates', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-tpl-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('uses its own template and falls back to the project templates', () => {
    writeFileSync(join(dir, 'etcd.flags.hbs'), '{{#each settings}}{{flag}};{{/each}}\n');
    const inv = parseInventory(`${OTHER}templates: .\n`, join(dir, 'inv.yaml'));
    assert.equal(inv.templatesDir, dir);
    assert.equal(
      renderHost(inv, 'c', 'flags'),
      'name;initial-advertise-peer-urls;listen-peer-urls;listen-client-urls;advertise-client-urls;' +
        'initial-cluster-token;initial-cluster;initial-cluster-state;data-dir;enable-v2;snapshot-count;' +
        'log-outputs;auto-compaction-retention;\n',
    );
    assert.match(renderHost(inv, 'c', 'env'), /^ETCD_NAME="c"$/m);
  });
});

describe('render: tls.mode auto', async () => {
  const inv = parseInventory(
    Buffer.from(`${readFileSync(SEED, 'utf8').replace('tls: { mode: off }\n', '')}tls:\n  mode: auto\n`),
    join(tmpdir(), 'tls-seed.yaml'),
  );
  test('every URL is https; the member serves and asks for certificates of the CA, as a server and as a peer', () => {
    const v = values(etcdSettings(inv, inv.hosts.find((h) => h.name === 'h102')!));
    assert.equal(v.get('listen-client-urls'), 'https://192.168.100.102:2379,https://127.0.0.1:2379');
    assert.equal(v.get('initial-advertise-peer-urls'), 'https://192.168.100.102:2380');
    assert.match(v.get('initial-cluster') ?? '', /^docker=https:\/\/192\.168\.100\.103:2380,h102=https:/);
    assert.deepEqual(
      [
        'cert-file',
        'key-file',
        'client-cert-auth',
        'trusted-ca-file',
        'peer-cert-file',
        'peer-key-file',
        'peer-client-cert-auth',
        'peer-trusted-ca-file',
      ].map((f) => v.get(f)),
      [
        '/etc/etcd/pki/server.crt',
        '/etc/etcd/pki/server.key',
        'true',
        '/etc/etcd/pki/ca.crt',
        '/etc/etcd/pki/peer.crt',
        '/etc/etcd/pki/peer.key',
        'true',
        '/etc/etcd/pki/ca.crt',
      ],
    );
    assert.equal(inv.tls.dir, join(tmpdir(), 'tls-seed.pki'), 'the PKI beside the inventory, named after it');
    assert.equal(v.get('peer-cert-allowed-cn'), 'tskv-etcd-peer', "only tskv's peer certificates speak raft");
  });
  test("files (the operator's certificates): the same flags and host paths, https, and no CN pinned on the peer port", () => {
    const text = readFileSync(SEED, 'utf8')
      .replace('tls: { mode: off }\n', '')
      .replace(/(\w+): \{ address: ([\d.]+) \}/g, '$1: { address: $2, tls: { cert: $1.crt, key: $1.key } }');
    const files = parseInventory(
      Buffer.from(`${text}tls:\n  mode: files\n  ca: ca.crt\n  client: { cert: c.crt, key: c.key }\n`),
      join(tmpdir(), 'files-seed.yaml'),
    );
    const [auto, own] = [inv, files].map((i) =>
      values(etcdSettings(i, i.hosts.find((h) => h.name === 'h102')!)),
    );
    // tskv's own peer name and revocation list are its PKI's; the operator's are theirs.
    for (const flag of ['peer-cert-allowed-cn', 'client-crl-file', 'peer-crl-file']) auto!.delete(flag);
    assert.deepEqual(own, auto);
  });
  test('the command line gives the boolean flags as --flag=true (Go refuses --flag true)', () => {
    const out = renderHost(inv, 'h102', 'flags');
    assert.match(out, /^ {2}--client-cert-auth=true \\$/m);
    assert.match(out, /^ {2}--peer-client-cert-auth=true \\$/m);
  });
  test('off (the seed inventory says so) renders no TLS flag and http URLs', async () => {
    const plain = await loadInventory(SEED);
    assert.equal(plain.tls.mode, 'off');
    const v = values(etcdSettings(plain, plain.hosts[0]!));
    assert.equal(v.get('cert-file'), undefined);
    assert.match(v.get('advertise-client-urls') ?? '', /^http:/);
  });
});

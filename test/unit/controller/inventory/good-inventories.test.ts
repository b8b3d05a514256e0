import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { InputError } from '../../../../controller/errors.ts';
import { InventoryError, loadInventory, parseInventory } from '../../../../controller/inventory/load.ts';
import type { SshSettings } from '../../../../controller/inventory/model.ts';
import { PROJECT_TEMPLATES_DIR } from '../../../../controller/inventory/normalise.ts';
import { parseYaml } from '../../../../controller/inventory/yaml-doc.ts';

const ISSUE_YAML = `cluster:
  token: etcd-cluster-test           # --initial-cluster-token
  clientPort: 2379                    # optional, default 2379
  peerPort: 2380                      # optional, default 2380
etcd:
  version: 3.4.23
  source: ./artifacts/etcd-v3.4.23-linux-amd64.tar.gz   # official-layout tarball: a path or an http(s) URL
ssh:
  user: root
  port: 22
  identityFile: ~/.ssh/id_ed25519
  knownHosts: ~/.ssh/known_hosts     # host keys are verified against this file
  hostKeyPolicy: strict              # strict | accept-new
hosts:
  h102:   { address: 192.168.100.102 }
  docker: { address: 192.168.100.103 }
  h104:   { address: 192.168.100.104, ssh: { port: 2222 } }   # per-host ssh overrides
`;

const MINIMAL = `cluster: { token: t }
etcd: { version: 3.5.17, source: https://example.com/etcd-v3.5.17-linux-amd64.tar.gz }
hosts:
  a: { address: 10.0.0.1 }
`;

describe('good inventories', () => {
  test("accepts the issue's YAML exactly as written", () => {
    const inv = parseInventory(ISSUE_YAML, '/srv/inv/cluster.yaml');
    assert.equal(inv.file, '/srv/inv/cluster.yaml');
    assert.deepEqual(inv.cluster, { token: 'etcd-cluster-test', clientPort: 2379, peerPort: 2380 });
    assert.equal(inv.etcd.version, '3.4.23');
    assert.equal(inv.etcd.source, '/srv/inv/artifacts/etcd-v3.4.23-linux-amd64.tar.gz');
    assert.deepEqual(
      inv.hosts.map((h) => [h.name, h.address, h.ssh.port]),
      [
        ['h102', '192.168.100.102', 22],
        ['docker', '192.168.100.103', 22],
        ['h104', '192.168.100.104', 2222],
      ],
    );
    const h104 = inv.hosts[2]!;
    assert.equal(h104.ssh.identityFile, join(homedir(), '.ssh/id_ed25519'));
    assert.equal(h104.ssh.knownHosts, join(homedir(), '.ssh/known_hosts'));
    assert.equal(h104.ssh.hostKeyPolicy, 'strict');
    assert.equal(h104.ssh.user, 'root');
    assert.deepEqual(inv.warnings, []);
  });

  test('applies defaults', () => {
    const inv = parseInventory(MINIMAL, 'min.yaml');
    assert.equal(inv.file, resolve('min.yaml'));
    assert.deepEqual(inv.cluster, { token: 't', clientPort: 2379, peerPort: 2380 });
    assert.equal(inv.etcd.source, 'https://example.com/etcd-v3.5.17-linux-amd64.tar.gz');
    assert.equal(inv.etcd.sha256, undefined);
    assert.deepEqual({ ...inv.etcd.flags }, {});
    const [a] = inv.hosts;
    assert.deepEqual(a!.ssh.sources, {
      identityFile: 'default',
      hostKeyPolicy: 'default',
      connectTimeout: 'default',
      user: 'default',
      port: 'default',
      knownHosts: 'default',
      proxyCommand: 'default',
      proxyJump: 'default',
    });
    assert.deepEqual(
      { ...a, ssh: withoutSources(a!.ssh) },
      {
        name: 'a',
        address: '10.0.0.1',
        dataDir: '/var/lib/etcd/a.etcd',
        dataDirTemplate: '/var/lib/etcd/{name}.etcd',
        ssh: {
          user: 'root',
          port: 22,
          identityFile: undefined,
          knownHosts: join(homedir(), '.ssh/known_hosts'),
          hostKeyPolicy: 'strict',
          proxyCommand: undefined,
          connectTimeoutMs: 10_000,
        },
      },
    );
    assert.deepEqual(inv.time, { servers: [] });
    assert.equal(inv.templatesDir, PROJECT_TEMPLATES_DIR);
    assert.equal(PROJECT_TEMPLATES_DIR, resolve(import.meta.dirname, '../../../../templates'));
  });

  test('takes extensions and per-host overrides', () => {
    const inv = parseInventory(
      `cluster: { token: t, clientPort: 12379, peerPort: 12380 }
etcd:
  version: 3.5.17
  source: ../tarballs/etcd.tar.gz
  sha256: ${'AB'.repeat(32)}
  flags: { enable-v2: true, snapshot-count: 5000, log-level: debug }
  dataDir: /data/etcd/{name}
ssh:
  user: admin
  identityFile: keys/id
  knownHosts: ./known_hosts
  hostKeyPolicy: accept-new
  proxyCommand: ssh -W %h:%p bastion
  connectTimeout: 2.5
time:
  servers: [pool.ntp.org, 10.0.0.254]
templates: my-templates
hosts:
  a: { address: 10.0.0.1 }
  b: { address: "fd00::2", dataDir: /srv/b, ssh: { user: root, port: 2222, identityFile: ~/b.key } }
  c: { address: etcd-c.example.com }
`,
      '/srv/inv/cluster.yaml',
    );
    assert.deepEqual(inv.cluster, { token: 't', clientPort: 12379, peerPort: 12380 });
    assert.equal(inv.etcd.source, '/srv/tarballs/etcd.tar.gz');
    assert.equal(inv.etcd.sha256, 'ab'.repeat(32));
    assert.deepEqual(
      { ...inv.etcd.flags },
      { 'enable-v2': true, 'snapshot-count': 5000, 'log-level': 'debug' },
    );
    assert.deepEqual(inv.time.servers, ['pool.ntp.org', '10.0.0.254']);
    assert.equal(inv.templatesDir, '/srv/inv/my-templates');
    const [a, b, c] = inv.hosts;
    assert.equal(a!.dataDir, '/data/etcd/a');
    assert.equal(c!.dataDir, '/data/etcd/c');
    assert.equal(b!.dataDir, '/srv/b');
    assert.equal(a!.ssh.sources?.['user'], 'inventory /srv/inv/cluster.yaml:9');
    assert.equal(b!.ssh.sources?.['port'], 'inventory /srv/inv/cluster.yaml:20');
    assert.deepEqual(withoutSources(a!.ssh), {
      user: 'admin',
      port: 22,
      identityFile: '/srv/inv/keys/id',
      knownHosts: '/srv/inv/known_hosts',
      hostKeyPolicy: 'accept-new',
      proxyCommand: 'ssh -W %h:%p bastion',
      connectTimeoutMs: 2500,
    });
    assert.equal(b!.ssh.user, 'root');
    assert.equal(b!.ssh.port, 2222);
    assert.equal(b!.ssh.identityFile, join(homedir(), 'b.key'));
    assert.equal(b!.ssh.proxyCommand, 'ssh -W %h:%p bastion');
  });

  test("tls.mode files: the CA, the client pair and each member's pairs, relative to the inventory; peers use the server pair unless told", () => {
    const inv = parseInventory(
      `${MINIMAL.replace('a: { address: 10.0.0.1 }', 'a: { address: 10.0.0.1, tls: { cert: a.crt, key: a.key } }')}  b:
    address: 10.0.0.2
    tls: { cert: /etc/b.crt, key: b.key, peerCert: b-peer.crt, peerKey: ~/b-peer.key }
  c: { address: 10.0.0.3, tls: { cert: c.crt, key: c.key } }
tls:
  mode: files
  ca: ./pki/ca.crt
  client: { cert: pki/client.crt, key: pki/client.key }
`,
      '/srv/inv/files.yaml',
    );
    assert.equal(inv.tls.mode, 'files');
    assert.deepEqual(inv.tls.files, {
      ca: '/srv/inv/pki/ca.crt',
      client: { cert: '/srv/inv/pki/client.crt', key: '/srv/inv/pki/client.key' },
    });
    const [a, b] = inv.hosts;
    assert.deepEqual(a!.tls, {
      server: { cert: '/srv/inv/a.crt', key: '/srv/inv/a.key' },
      peer: { cert: '/srv/inv/a.crt', key: '/srv/inv/a.key' },
    });
    assert.deepEqual(b!.tls, {
      server: { cert: '/etc/b.crt', key: '/srv/inv/b.key' },
      peer: { cert: '/srv/inv/b-peer.crt', key: join(homedir(), 'b-peer.key') },
    });
    // Other modes carry none of it.
    const auto = parseInventory(`${MINIMAL}tls: { mode: auto }\n`, '/srv/inv/auto.yaml');
    assert.equal(auto.tls.files, undefined);
    assert.equal(auto.hosts[0]!.tls, undefined);
  });

  test('without etcd.source, the official amd64 tarball of etcd.version', () => {
    const inv = parseInventory(
      'cluster: { token: t }\netcd: { version: 3.6.4 }\nhosts: { a: { address: 10.0.0.1 } }\n',
      'v.yaml',
    );
    assert.equal(
      inv.etcd.source,
      'https://github.com/etcd-io/etcd/releases/download/v3.6.4/etcd-v3.6.4-linux-amd64.tar.gz',
    );
    assert.equal(inv.etcd.sha256, undefined);
  });

  test('etcd.fetch: controller by default; host with a URL the table (or etcd.sha256) can check', () => {
    const doc = (etcd: string) =>
      `cluster: { token: t }\netcd: { ${etcd} }\nhosts: { a: { address: 10.0.0.1 } }\n`;
    assert.equal(parseInventory(doc('version: 3.6.4'), 'd.yaml').etcd.fetch, 'controller');
    const official = parseInventory(doc('version: 3.6.4, fetch: host'), 'o.yaml');
    assert.equal(official.etcd.fetch, 'host');
    assert.equal(official.etcd.sha256, undefined);
    const mirror = parseInventory(
      doc(
        `version: 3.5.17, fetch: host, source: "http://10.0.0.9:8080/e.tar.gz", sha256: ${'ab'.repeat(32)}`,
      ),
      'm.yaml',
    );
    assert.equal(mirror.etcd.source, 'http://10.0.0.9:8080/e.tar.gz');
    assert.equal(mirror.etcd.fetch, 'host');
    assert.equal(mirror.etcd.fetchProxy, undefined);
    const proxied = parseInventory(
      doc('version: 3.6.4, fetch: host, fetchProxy: "http://proxy.internal:3128"'),
      'p.yaml',
    );
    assert.equal(proxied.etcd.fetchProxy, 'http://proxy.internal:3128');
  });

  test('a download needs a checksum only where the table has none; a local tarball needs neither', () => {
    const custom = parseInventory(
      `cluster: { token: t }
etcd:
  version: 3.7.0
  source: https://mirror.example.com/etcd-custom.tar.gz
  sha256: ${'cd'.repeat(32)}
hosts: { a: { address: 10.0.0.1 } }
`,
      'c.yaml',
    );
    assert.equal(custom.etcd.sha256, 'cd'.repeat(32));
    const local = parseInventory(
      'cluster: { token: t }\netcd: { version: 3.7.0, source: ./etcd.tgz }\nhosts: { a: { address: 10.0.0.1 } }\n',
      '/srv/l.yaml',
    );
    assert.equal(local.etcd.source, '/srv/etcd.tgz');
  });

  test('an extra flag named like an Object property is not taken for one tskv sets', () => {
    const inv = parseInventory(MINIMAL.replace('source:', 'flags: { constructor: x }, source:'), 'p.yaml');
    assert.deepEqual({ ...inv.etcd.flags }, { constructor: 'x' });
    assert.equal(Object.getPrototypeOf(inv.etcd.flags), null);
    assert.equal(parseInventory(MINIMAL, 'p.yaml').etcd.flags['toString'], undefined);
  });

  test("the YAML's maps become objects without a prototype: __proto__ and constructor are plain keys", () => {
    const { data } = parseYaml(
      'hosts:\n  __proto__: { address: 10.0.0.1 }\n  constructor: { address: 10.0.0.2 }\n',
    );
    const hosts = (data as { hosts: Record<string, unknown> }).hosts;
    assert.equal(Object.getPrototypeOf(data), null);
    assert.equal(Object.getPrototypeOf(hosts), null);
    assert.deepEqual(Object.keys(hosts), ['__proto__', 'constructor']);
    const proto = Object.getOwnPropertyDescriptor(hosts, '__proto__')?.value;
    assert.equal(Object.getPrototypeOf(proto), null);
    assert.deepEqual({ ...proto }, { address: '10.0.0.1' });
  });

  test('an even member count is a warning, not an error', () => {
    const inv = parseInventory(
      `cluster: { token: t }
etcd: { version: 3.4.23, source: ./e.tgz }
hosts:
  a: { address: 10.0.0.1 }
  b: { address: 10.0.0.2 }
  c: { address: 10.0.0.3 }
  d: { address: 10.0.0.4 }
`,
      'even.yaml',
    );
    assert.equal(inv.hosts.length, 4);
    assert.deepEqual(inv.warnings, [
      'even.yaml:3:1: warning: 4 members tolerate no more failures than 3 (1 either way); use an odd number of members',
    ]);
  });

  test('clientSources: IPv4 and IPv6 networks and addresses, in one spelling each; absent: anywhere', () => {
    const inv = parseInventory(
      MINIMAL.replace(
        'cluster: { token: t }',
        'cluster: { token: t, clientSources: [10.0.0.0/8, 192.0.2.7, "FD00:0::/64", 10.0.0.0/8] }\ntls: { mode: auto }',
      ),
      'sources.yaml',
    );
    assert.deepEqual(inv.cluster.clientSources, ['10.0.0.0/8', '192.0.2.7/32', 'fd00::/64']);
    assert.deepEqual(inv.warnings, []);
    assert.equal(parseInventory(MINIMAL, 'min.yaml').cluster.clientSources, undefined);
  });

  test('clientSources with tls.mode off is a warning: the client port stays open to the zone', () => {
    const inv = parseInventory(
      MINIMAL.replace(
        'cluster: { token: t }',
        'cluster: { token: t, clientSources: [10.0.0.0/8] }\ntls: { mode: off }',
      ),
      'off.yaml',
    );
    assert.match(
      inv.warnings.join('\n'),
      /^off\.yaml:1:22: warning: cluster\.clientSources has no effect with tls\.mode off/,
    );
  });

  test('a member name that is not a DNS label is a warning', () => {
    const inv = parseInventory(MINIMAL.replace('  a:', '  Node_A:'), 'w.yaml');
    assert.deepEqual(inv.warnings, [
      "w.yaml:4:3: warning: member name 'Node_A' is not a DNS label; etcd accepts it, but letters, digits and '-' (at most 63) are safest",
    ]);
  });

  test('a log file outside /var/log is a warning; streams and files under /var/log are not', () => {
    const inv = parseInventory(
      MINIMAL.replace(
        'source: https',
        'flags: { log-outputs: "stderr,/var/log/etcd/etcd.log,/tmp/etcd.log,/var/log/../etc/x, journal" }, source: https',
      ),
      'log.yaml',
    );
    const where = 'log.yaml:2:48: warning: etcd.flags.log-outputs writes the log file';
    const fix =
      'outside /var/log; use a file under /var/log (e.g. /var/log/etcd/etcd.log) or stderr (the journal under systemd)';
    assert.deepEqual(inv.warnings, [
      `${where} "/tmp/etcd.log", ${fix}`,
      `${where} "/var/log/../etc/x", ${fix}`,
    ]);
    assert.equal(
      inv.etcd.flags['log-outputs'],
      'stderr,/var/log/etcd/etcd.log,/tmp/etcd.log,/var/log/../etc/x, journal',
    );
    const fine = parseInventory(
      MINIMAL.replace('source: https', 'flags: { log-outputs: default }, source: https'),
      'ok.yaml',
    );
    assert.deepEqual(fine.warnings, []);
  });

  test('1,000 hosts are allowed (1,001 are not: bad/hosts-too-many)', () => {
    const hosts = Array.from({ length: 1000 }, (_, i) => `  h${i}: { address: 10.0.${i >> 8}.${i & 255} }`);
    const inv = parseInventory(
      MINIMAL.replace(/hosts:\n[\s\S]*/, `hosts:\n${hosts.join('\n')}\n`),
      'big.yaml',
    );
    assert.equal(inv.hosts.length, 1000);
  });

  test('loads the seed inventory', async () => {
    const inv = await loadInventory(resolve(import.meta.dirname, '../../../../inventories/seed.yaml'));
    assert.deepEqual(
      inv.hosts.map((h) => `${h.name}=${h.address}`),
      ['docker=192.168.100.103', 'h102=192.168.100.102', 'h104=192.168.100.104'],
    );
    assert.equal(inv.cluster.token, 'etcd-cluster-test');
  });
});

describe('unreadable inventories', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-inv-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a missing file is an InputError naming it', async () => {
    const file = join(dir, 'nope.yaml');
    await assert.rejects(loadInventory(file), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.exitCode, 2);
      assert.equal(err.message, `cannot read inventory ${file}: no such file`);
      return true;
    });
  });

  test('a folder is an InputError naming it', async () => {
    await assert.rejects(loadInventory(dir), {
      name: 'InputError',
      message: `cannot read inventory ${dir}: it is a folder, not a file`,
    });
  });

  test('a FIFO, /dev/zero and a file over 4 MiB are refused at once, exit 2', { timeout: 5000 }, async () => {
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, '');
    truncateSync(big, 4 * 1024 * 1024 + 1);
    for (const [file, reason] of [
      [fifo, 'it is a named pipe (FIFO), not a regular file'],
      ['/dev/zero', 'it is a character device (like /dev/zero), not a regular file'],
      [big, 'it is larger than 4 MiB, the most allowed'],
    ]) {
      await assert.rejects(loadInventory(file!), (err: unknown) => {
        assert.ok(err instanceof InputError);
        assert.equal(err.exitCode, 2);
        assert.equal(err.message, `cannot read inventory ${file}: ${reason}`);
        return true;
      });
    }
  });

  test('a file that is not UTF-8 is refused at its first bad byte', async () => {
    const file = join(dir, 'latin1.yaml');
    writeFileSync(file, Buffer.from(`${MINIMAL}# K\u00f6ln\n`, 'latin1'));
    await assert.rejects(loadInventory(file), (err: unknown) => {
      assert.ok(err instanceof InventoryError);
      assert.equal(err.exitCode, 2);
      assert.match(
        err.message,
        /latin1\.yaml:5:4: byte 0xF6 here is not valid UTF-8; save the inventory as UTF-8/,
      );
      return true;
    });
  });
});

function withoutSources(ssh: SshSettings): Omit<SshSettings, 'sources'> {
  const { sources: _sources, ...rest } = ssh;
  return rest;
}

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { parseInventory } from '../../../../controller/inventory/load.ts';
import { etcdctlEnv } from '../../../../controller/render/etcdctl-env.ts';

const SEED = resolve(import.meta.dirname, '../../../../inventories/seed.yaml');
const seed = (extra = '') =>
  parseInventory(
    Buffer.from(
      `${extra ? readFileSync(SEED, 'utf8').replace('tls: { mode: off }\n', '') : readFileSync(SEED, 'utf8')}${extra}`,
    ),
    '/srv/inv/seed.yaml',
  );

test('plain HTTP: API v3 and every member’s client URL, in inventory order; --host: only its own', () => {
  assert.equal(
    etcdctlEnv(seed()),
    'export ETCDCTL_API=3\nexport ETCDCTL_ENDPOINTS=http://192.168.100.103:2379,http://192.168.100.102:2379,http://192.168.100.104:2379\n',
  );
  assert.match(etcdctlEnv(seed(), 'h104'), /^export ETCDCTL_ENDPOINTS=http:\/\/192\.168\.100\.104:2379$/m);
  assert.throws(() => etcdctlEnv(seed(), 'h9'), /no host 'h9' in .*; its hosts are: docker, h102, h104/);
});

test('TLS: https endpoints, the CA and the client identity of the PKI folder, quoted for sh', () => {
  const env = etcdctlEnv(seed("tls:\n  mode: auto\n  dir: ./it's pki\n"), 'h102');
  assert.equal(
    env,
    [
      'export ETCDCTL_API=3',
      'export ETCDCTL_ENDPOINTS=https://192.168.100.102:2379',
      "export ETCDCTL_CACERT='/srv/inv/it'\\''s pki/ca.crt'",
      "export ETCDCTL_CERT='/srv/inv/it'\\''s pki/client.crt'",
      "export ETCDCTL_KEY='/srv/inv/it'\\''s pki/client.key'",
      '',
    ].join('\n'),
  );
});

test("TLS with the operator's own files: tls.ca and tls.client", () => {
  const text = readFileSync(SEED, 'utf8')
    .replace('tls: { mode: off }\n', '')
    .replace(/(\w+): \{ address: ([\d.]+) \}/g, '$1: { address: $2, tls: { cert: $1.crt, key: $1.key } }');
  const inv = parseInventory(
    Buffer.from(`${text}tls: { mode: files, ca: my/ca.pem, client: { cert: /etc/me.crt, key: me.key } }\n`),
    '/srv/inv/seed.yaml',
  );
  assert.match(
    etcdctlEnv(inv),
    /^export ETCDCTL_CACERT=\/srv\/inv\/my\/ca\.pem\nexport ETCDCTL_CERT=\/etc\/me\.crt\nexport ETCDCTL_KEY=\/srv\/inv\/me\.key\n$/m,
  );
  assert.match(etcdctlEnv(inv), /ETCDCTL_ENDPOINTS=https:/);
});

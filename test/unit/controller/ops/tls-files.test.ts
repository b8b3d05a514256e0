import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ETCD_PKI_FILES } from '../../../../agent/api/index.ts';
import { parseInventory } from '../../../../controller/inventory/load.ts';
import { type HostFile, memberTlsFiles, planTlsFiles } from '../../../../controller/ops/tls-files.ts';

const inventory = (tls: string, h102 = '') =>
  parseInventory(
    `cluster: { token: t }\netcd: { version: 3.5.17, source: ./etcd.tar.gz }\nhosts:\n  h102: { address: 10.0.0.2${h102} }\ntls: ${tls}\n`,
    '/srv/inv/c.yaml',
  );

describe('TLS files of a member', () => {
  test("tls.mode auto: the CA certificate and the member's own server and peer pairs, from its folder of the PKI", () => {
    assert.deepEqual(
      memberTlsFiles(inventory('{ mode: auto }'), 'h102').map((f) => [f.path, f.source, f.kind]),
      [
        [ETCD_PKI_FILES.ca, '/srv/inv/c.pki/ca.crt', 'cert'],
        [ETCD_PKI_FILES.serverCert, '/srv/inv/c.pki/members/h102/server.crt', 'cert'],
        [ETCD_PKI_FILES.serverKey, '/srv/inv/c.pki/members/h102/server.key', 'key'],
        [ETCD_PKI_FILES.peerCert, '/srv/inv/c.pki/members/h102/peer.crt', 'cert'],
        [ETCD_PKI_FILES.peerKey, '/srv/inv/c.pki/members/h102/peer.key', 'key'],
      ],
    );
  });

  test("tls.mode files: the same host paths, from the operator's files (the peer pair is the server pair unless named)", () => {
    const files = '{ mode: files, ca: my/ca.pem, client: { cert: c.pem, key: c.key } }';
    assert.deepEqual(
      memberTlsFiles(inventory(files, ', tls: { cert: h.pem, key: h.key }'), 'h102').map((f) => [
        f.path,
        f.source,
      ]),
      [
        [ETCD_PKI_FILES.ca, '/srv/inv/my/ca.pem'],
        [ETCD_PKI_FILES.serverCert, '/srv/inv/h.pem'],
        [ETCD_PKI_FILES.serverKey, '/srv/inv/h.key'],
        [ETCD_PKI_FILES.peerCert, '/srv/inv/h.pem'],
        [ETCD_PKI_FILES.peerKey, '/srv/inv/h.key'],
      ],
    );
    const own = ', tls: { cert: h.pem, key: h.key, peerCert: /p/h.pem, peerKey: /p/h.key }';
    assert.deepEqual(
      memberTlsFiles(inventory(files, own), 'h102')
        .slice(3)
        .map((f) => f.source),
      ['/p/h.pem', '/p/h.key'],
    );
  });

  const want = new Map(
    memberTlsFiles(inventory('{ mode: auto }'), 'h102').map((f) => [f.path, `pem of ${f.source}`]),
  );
  const right = (content: string): HostFile => ({ content, mode: 0o640, owner: 'root:etcd' });
  const asWanted = () => new Map([...want].map(([path, content]) => [path, right(content)]));

  test('a bare host gets every file; a host that has them right gets nothing', () => {
    const bare = planTlsFiles(want, new Map());
    assert.deepEqual(bare?.paths, [...want.keys()]);
    assert.equal(
      bare?.title,
      'place TLS files ca.crt, server.crt, server.key, peer.crt, peer.key (0640 root:etcd)',
    );
    assert.equal(planTlsFiles(want, asWanted()), undefined);
  });

  test('only what differs is written again: content, mode or owner', () => {
    const have = asWanted();
    have.set(ETCD_PKI_FILES.serverCert, right('an older certificate'));
    have.set(ETCD_PKI_FILES.peerKey, { ...right(want.get(ETCD_PKI_FILES.peerKey)!), mode: 0o644 });
    have.set(ETCD_PKI_FILES.ca, { ...right(want.get(ETCD_PKI_FILES.ca)!), owner: 'root:root' });
    const plan = planTlsFiles(want, have);
    assert.deepEqual(plan?.paths, [ETCD_PKI_FILES.ca, ETCD_PKI_FILES.serverCert, ETCD_PKI_FILES.peerKey]);
    assert.equal(plan?.title, 'update TLS files ca.crt, server.crt, peer.key (0640 root:etcd)');
  });

  test('a file the PKI has not issued yet (a dry run before the first deploy) is planned', () => {
    const unissued = new Map([...want].map(([path]) => [path, undefined]));
    assert.deepEqual(planTlsFiles(unissued, asWanted())?.paths, [...want.keys()]);
  });

  test('the plan names files, never their contents (private keys)', () => {
    const plan = planTlsFiles(want, new Map());
    assert.doesNotMatch(JSON.stringify(plan), /pem of/);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ETCD_PKI_FILES } from '../../../../agent/api/index.ts';
import { parseInventory } from '../../../../controller/inventory/load.ts';
import {
  type HostFile,
  MEMBER_TLS_FILES,
  memberTlsFiles,
  planTlsFiles,
  tlsFileContents,
} from '../../../../controller/ops/tls-files.ts';
import {
  issueCrl,
  type MemberMaterial,
  memberTlsSources,
  parseCrlPem,
} from '../../../../controller/pki/index.ts';
import { newAuthority } from '../pki/pki-fixture.ts';

const inventory = (tls: string, h102 = '') =>
  parseInventory(
    `cluster: { token: t }\netcd: { version: 3.5.17, source: ./etcd.tar.gz }\nhosts:\n  h102: { address: 10.0.0.2${h102} }\ntls: ${tls}\n`,
    '/srv/inv/c.yaml',
  );
const auto = inventory('{ mode: auto }');

describe('TLS files of a member', async () => {
  const { authority } = await newAuthority();
  const crl = await issueCrl(authority, ['4a0b']);
  const material: MemberMaterial = {
    trust: 'the trusted CAs',
    crl,
    server: { cert: 'server cert', key: 'server key' },
    peer: { cert: 'peer cert', key: 'peer key' },
  };

  test("the trusted CAs, the member's own server and peer pairs, and the revocation list as DER", () => {
    const contents = tlsFileContents(auto, material);
    assert.deepEqual([...contents].slice(0, 5), [
      [ETCD_PKI_FILES.ca, 'the trusted CAs'],
      [ETCD_PKI_FILES.serverCert, 'server cert'],
      [ETCD_PKI_FILES.serverKey, 'server key'],
      [ETCD_PKI_FILES.peerCert, 'peer cert'],
      [ETCD_PKI_FILES.peerKey, 'peer key'],
    ]);
    const der = Buffer.from(contents.get(ETCD_PKI_FILES.crl)!, 'base64');
    assert.deepEqual(der, Buffer.from(parseCrlPem(crl).rawData));
    assert.equal(der[0], 0x30, 'DER, not PEM');
    assert.deepEqual(
      MEMBER_TLS_FILES.filter((f) => f.encoding === 'base64').map((f) => f.path),
      [ETCD_PKI_FILES.crl],
    );
    const unissued = tlsFileContents(auto, {
      ...material,
      crl: undefined,
      peer: { cert: undefined, key: undefined },
    });
    assert.equal(unissued.get(ETCD_PKI_FILES.crl), undefined);
    assert.equal(unissued.get(ETCD_PKI_FILES.peerKey), undefined);
  });

  test("tls.mode files: the same host paths from the operator's files (the peer pair is the server pair unless named), and no revocation list", () => {
    const files = '{ mode: files, ca: my/ca.pem, client: { cert: c.pem, key: c.key } }';
    assert.deepEqual(memberTlsSources(inventory(files, ', tls: { cert: h.pem, key: h.key }'), 'h102'), {
      ca: '/srv/inv/my/ca.pem',
      server: { cert: '/srv/inv/h.pem', key: '/srv/inv/h.key' },
      peer: { cert: '/srv/inv/h.pem', key: '/srv/inv/h.key' },
    });
    const own = ', tls: { cert: h.pem, key: h.key, peerCert: /p/h.pem, peerKey: /p/h.key }';
    assert.deepEqual(memberTlsSources(inventory(files, own), 'h102').peer, {
      cert: '/p/h.pem',
      key: '/p/h.key',
    });
    const paths = memberTlsFiles(inventory(files, own)).map((f) => f.path);
    assert.ok(!paths.includes(ETCD_PKI_FILES.crl), 'the operator keeps their own revocation');
    assert.ok(memberTlsFiles(auto).some((f) => f.path === ETCD_PKI_FILES.crl));
  });

  const want = new Map(MEMBER_TLS_FILES.map((f) => [f.path, `content of ${f.path}`]));
  const right = (content: string): HostFile => ({ content, mode: 0o640, owner: 'root:etcd' });
  const asWanted = () => new Map([...want].map(([path, content]) => [path, right(content)]));

  test('a bare host gets every file; a host that has them right gets nothing', () => {
    const bare = planTlsFiles(want, new Map());
    assert.deepEqual(bare?.paths, [...want.keys()]);
    assert.equal(
      bare?.title,
      'place TLS files ca.crt, server.crt, server.key, peer.crt, peer.key, crl.der (0640 root:etcd)',
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
    assert.equal(plan?.restart, true);
  });

  test('a new revocation list alone needs no restart: etcd reads it at every connection', () => {
    const have = asWanted();
    have.set(ETCD_PKI_FILES.crl, right('an older list'));
    const plan = planTlsFiles(want, have);
    assert.deepEqual(plan?.paths, [ETCD_PKI_FILES.crl]);
    assert.equal(plan?.restart, false);
  });

  test('a file the PKI has not issued yet (a dry run before the first deploy) is planned', () => {
    const unissued = new Map([...want].map(([path]) => [path, undefined]));
    assert.deepEqual(planTlsFiles(unissued, asWanted())?.paths, [...want.keys()]);
  });

  test('the plan names files, never their contents (private keys)', () => {
    const plan = planTlsFiles(want, new Map());
    assert.doesNotMatch(JSON.stringify(plan), /content of/);
  });
});

import assert from 'node:assert/strict';
import { X509Certificate as NodeX509 } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  inspectCert,
  isSignedBy,
  issueClientCert,
  issueMemberCert,
  keyMatchesCert,
  memberSans,
  parseCertPem,
} from '../../../../controller/pki/index.ts';
import * as x509 from '../../../../controller/pki/x509.ts';
import { DAY_MS, H1, HOUR_MS, newAuthority } from './pki-fixture.ts';

const now = new Date();

function assertBackdated(cert: x509.X509Certificate) {
  const behind = now.getTime() - cert.notBefore.getTime();
  // An hour back, to the second (X.509 times have no milliseconds).
  assert.ok(behind >= 59 * 60 * 1000, `notBefore only ${behind} ms before now`);
  assert.ok(behind <= HOUR_MS + 1000, `notBefore ${behind} ms before now`);
}

function assertValidFor(cert: x509.X509Certificate, days: number) {
  const left = cert.notAfter.getTime() - now.getTime();
  assert.ok(Math.abs(left - days * DAY_MS) < 2000, `notAfter ${left / DAY_MS} days away, want ${days}`);
}

function assertRandomSerial(cert: x509.X509Certificate) {
  const serial = cert.serialNumber;
  assert.ok(serial.length >= 16, `serial ${serial} is under 64 bits`);
  assert.ok(Number.parseInt(serial.slice(0, 2), 16) < 0x80, `serial ${serial} would be negative`);
}

describe('the CA', async () => {
  const { pair } = await newAuthority(now);
  const cert = parseCertPem(pair.certPem);

  test('is a self-signed ECDSA P-256 CA with critical basicConstraints and keyCertSign+cRLSign', async () => {
    assert.equal(cert.subject, cert.issuer);
    assert.ok(await isSignedBy(cert, cert));
    const bc = cert.getExtension(x509.BasicConstraintsExtension)!;
    assert.equal(bc.ca, true);
    assert.equal(bc.critical, true);
    const ku = cert.getExtension(x509.KeyUsagesExtension)!;
    assert.equal(ku.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assert.equal(ku.critical, true);
    assert.ok(cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId);
    assert.equal(cert.publicKey.algorithm.name, 'ECDSA');
    assert.equal((cert.publicKey.algorithm as { namedCurve?: string }).namedCurve, 'P-256');
    assert.equal(inspectCert(cert).isCa, true);
  });

  test('is backdated an hour, valid 10 years, with a random positive serial', () => {
    assertBackdated(cert);
    assertValidFor(cert, 3650);
    assertRandomSerial(cert);
  });

  test('its key is PKCS#8 PEM and is the certificate’s', () => {
    assert.match(pair.keyPem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);
    assert.ok(keyMatchesCert(pair.keyPem, cert));
  });

  test('Node’s own X.509 parser agrees: a CA that issued itself', () => {
    const node = new NodeX509(pair.certPem);
    assert.equal(node.ca, true);
    assert.ok(node.checkIssued(node));
    assert.ok(node.verify(node.publicKey));
  });
});

describe('issued certificates', async () => {
  const { pair: caPair, authority } = await newAuthority(now);
  const caSki = authority.cert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
  const client = await issueClientCert(authority, now);
  const server = await issueMemberCert(authority, 'server', H1, now);
  const peer = await issueMemberCert(authority, 'peer', H1, now);
  const all = { client, server, peer };

  for (const [role, pair] of Object.entries(all)) {
    test(`${role}: backdated, 1 year, random serial, not a CA, signed by the CA with its key id`, async () => {
      const cert = parseCertPem(pair.certPem);
      assertBackdated(cert);
      assertValidFor(cert, 365);
      assertRandomSerial(cert);
      assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);
      assert.ok(await isSignedBy(cert, authority.cert));
      assert.equal(cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId, caSki);
      assert.ok(keyMatchesCert(pair.keyPem, cert));
      assert.match(pair.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
      const node = new NodeX509(pair.certPem);
      assert.ok(node.checkIssued(new NodeX509(caPair.certPem)));
      assert.ok(node.verify(new NodeX509(caPair.certPem).publicKey));
    });
  }

  test('every certificate has a serial and a key of its own', () => {
    const serials = Object.values(all).map((p) => parseCertPem(p.certPem).serialNumber);
    assert.equal(new Set([...serials, authority.cert.serialNumber]).size, 4);
    const keys = Object.values(all).map((p) => p.keyPem);
    assert.equal(new Set([...keys, caPair.keyPem]).size, 4);
  });

  test('client: CN tskv, clientAuth only, no SANs', () => {
    const info = inspectCert(client.certPem);
    assert.equal(info.subject, 'CN=tskv');
    assert.deepEqual(info.extKeyUsage, ['clientAuth']);
    assert.deepEqual(info.sans, { ips: [], dns: [] });
  });

  test('server: the address and name, 127.0.0.1 and localhost; serverAuth and clientAuth', () => {
    const info = inspectCert(server.certPem);
    assert.equal(info.subject, 'CN=h1');
    assert.deepEqual(info.sans, { ips: ['192.0.2.11', '127.0.0.1'], dns: ['h1', 'localhost'] });
    assert.deepEqual(info.extKeyUsage, ['serverAuth', 'clientAuth']);
    const node = new NodeX509(server.certPem);
    assert.equal(node.checkIP('192.0.2.11'), '192.0.2.11');
    assert.equal(node.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(node.checkHost('localhost'), 'localhost');
  });

  test('peer: the address and name only; serverAuth and clientAuth', () => {
    const info = inspectCert(peer.certPem);
    assert.deepEqual(info.sans, { ips: ['192.0.2.11'], dns: ['h1'] });
    assert.deepEqual(info.extKeyUsage, ['serverAuth', 'clientAuth']);
    assert.equal(new NodeX509(peer.certPem).checkIP('127.0.0.1'), undefined);
  });
});

describe('member SANs', () => {
  test('an IPv6 address in its canonical form, a DNS address as a DNS name', () => {
    assert.deepEqual(memberSans('peer', { name: 'h1', address: 'FD00:0::3' }), {
      ips: ['fd00::3'],
      dns: ['h1'],
    });
    assert.deepEqual(memberSans('peer', { name: 'h1', address: 'etcd1.example.com' }), {
      ips: [],
      dns: ['etcd1.example.com', 'h1'],
    });
  });

  test('a name that is no DNS name, or is the address, adds no DNS SAN of its own', () => {
    assert.deepEqual(memberSans('peer', { name: 'new_h1', address: '10.0.0.1' }), {
      ips: ['10.0.0.1'],
      dns: [],
    });
    assert.deepEqual(memberSans('peer', { name: 'etcd1.example.com', address: 'etcd1.example.com' }), {
      ips: [],
      dns: ['etcd1.example.com'],
    });
  });

  test('an IPv6 member certificate carries the address a TLS client checks', async () => {
    const { authority } = await newAuthority(now);
    const pair = await issueMemberCert(authority, 'server', { name: 'h6', address: 'fd00::6' }, now);
    assert.equal(new NodeX509(pair.certPem).checkIP('fd00::6'), 'fd00::6');
  });
});

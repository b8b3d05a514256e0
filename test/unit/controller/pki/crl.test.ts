/** The CA's revocation list: what it lists, who signed it, and the DER members get. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  crlDerBase64,
  inspectCrl,
  isCrlOf,
  issueClientCert,
  issueCrl,
  parseCertPem,
  parseCrlPem,
} from '../../../../controller/pki/index.ts';
import { DAY_MS, newAuthority } from './pki-fixture.ts';

describe('the revocation list', async () => {
  const now = new Date();
  const { authority } = await newAuthority(now);
  const other = await newAuthority(now);
  const serialOf = async () => parseCertPem((await issueClientCert(authority)).certPem).serialNumber;

  test('a new one lists nothing, is signed by its CA only, and lasts as long as the CA', async () => {
    const pem = await issueCrl(authority, [], undefined, now);
    assert.match(pem, /^-----BEGIN X509 CRL-----\n/);
    const info = inspectCrl(pem);
    assert.deepEqual([info.revoked, info.number, info.issuer], [[], 1n, authority.cert.subject]);
    assert.equal(await isCrlOf(pem, authority.cert), true);
    assert.equal(await isCrlOf(pem, other.authority.cert), false);
    const crl = parseCrlPem(pem);
    assert.ok(Math.abs(crl.nextUpdate!.getTime() - authority.cert.notAfter.getTime()) < 1000);
  });

  test('serials added keep the earlier ones with their dates, never twice, and the number goes up', async () => {
    const [a, b] = [await serialOf(), await serialOf()];
    const first = await issueCrl(authority, [a], undefined, now);
    const later = new Date(now.getTime() + DAY_MS);
    const second = await issueCrl(authority, [a.toUpperCase(), b], first, later);
    const info = inspectCrl(second);
    assert.deepEqual(
      info.revoked.map((r) => [r.serial, r.revokedAt.getTime()]),
      [
        [a, Math.floor(now.getTime() / 1000) * 1000],
        [b, Math.floor(later.getTime() / 1000) * 1000],
      ],
    );
    assert.equal(info.number, 2n);
    assert.equal(await isCrlOf(second, authority.cert), true);
  });

  test('a CRL number past one byte, and one whose top bit is set, read back', async () => {
    let pem = await issueCrl(authority, []);
    for (let i = 0; i < 130; i++) pem = await issueCrl(authority, [], pem);
    assert.equal(inspectCrl(pem).number, 131n);
  });

  test('members get its DER (etcd 3.6 reads no PEM there), as base64 for the agent', async () => {
    const pem = await issueCrl(authority, [await serialOf()]);
    const der = Buffer.from(crlDerBase64(pem), 'base64');
    assert.equal(der[0], 0x30, 'an ASN.1 SEQUENCE');
    assert.deepEqual(der, Buffer.from(parseCrlPem(pem).rawData));
    assert.equal(der.toString('base64'), crlDerBase64(pem), 'canonical base64');
  });

  test('text that is no list is refused by name', () => {
    assert.throws(() => inspectCrl('-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n'), {
      message: /holds no PEM revocation list/,
    });
  });
});

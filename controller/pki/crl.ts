/**
 * The CA's certificate revocation list: the serials of the certificates it issued that were
 * replaced (`tskv certs rotate`), which members refuse from then on (etcd's --client-crl-file and
 * --peer-crl-file, read at every connection). Signed by the CA, as RFC 5280 asks (authority key
 * identifier, CRL number), though etcd reads only the serials.
 */
import { type Authority, authorityKeyIdentifier } from './issue.ts';
import * as x509 from './x509.ts';

const PEM_LABEL = 'X509 CRL';
const PEM_CRL = /-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/;
const CRL_NUMBER_OID = '2.5.29.20';
const DAY_MS = 24 * 60 * 60 * 1000;

export interface RevokedCert {
  /** Lower-case hex, as x509 prints serials. */
  serial: string;
  revokedAt: Date;
}

export interface CrlInfo {
  issuer: string;
  number: bigint;
  thisUpdate: Date;
  revoked: RevokedCert[];
}

/** A DER INTEGER of a non-negative number (the CRL number extension's value). */
function derInteger(n: bigint): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`; // stays positive
  const body = Buffer.from(hex, 'hex');
  return Uint8Array.from([0x02, body.length, ...body]);
}

function crlNumberOf(crl: x509.X509Crl): bigint {
  const ext = crl.extensions.find((e) => e.type === CRL_NUMBER_OID);
  if (!ext) return 0n;
  const der = Buffer.from(ext.value);
  return der[0] === 0x02 ? BigInt(`0x${der.subarray(2, 2 + der[1]!).toString('hex') || '0'}`) : 0n;
}

/** The first CRL of a PEM text; throws when there is none or it cannot be parsed. */
export function parseCrlPem(pem: string): x509.X509Crl {
  const block = PEM_CRL.exec(pem)?.[0];
  if (!block) throw new Error('holds no PEM revocation list (-----BEGIN X509 CRL-----)');
  try {
    return new x509.X509Crl(block);
  } catch (err) {
    throw new Error(`holds a revocation list that cannot be parsed: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

export function inspectCrl(pem: string): CrlInfo {
  const crl = parseCrlPem(pem);
  return {
    issuer: crl.issuer,
    number: crlNumberOf(crl),
    thisUpdate: crl.thisUpdate,
    revoked: crl.entries.map((e) => ({ serial: e.serialNumber.toLowerCase(), revokedAt: e.revocationDate })),
  };
}

/** Whether `ca` signed the list (its name and its key). */
export async function isCrlOf(pem: string, ca: x509.X509Certificate): Promise<boolean> {
  const crl = parseCrlPem(pem);
  const issuer = Buffer.from(crl.issuerName.toArrayBuffer());
  if (!issuer.equals(Buffer.from(ca.subjectName.toArrayBuffer()))) return false;
  try {
    return await crl.verify({ publicKey: ca.publicKey });
  } catch {
    return false;
  }
}

/**
 * The CA's list with `serials` added to what `previous` (its list so far) revokes: earlier entries
 * keep their dates, a serial listed already is not listed twice, and the number goes up by one.
 * Valid until the CA itself expires: a member never finds it out of date.
 */
export async function issueCrl(
  ca: Authority,
  serials: readonly string[],
  previous?: string,
  now: Date = new Date(),
): Promise<string> {
  const before = previous === undefined ? undefined : inspectCrl(previous);
  const revoked = [...(before?.revoked ?? [])];
  for (const serial of serials.map((s) => s.toLowerCase())) {
    if (!revoked.some((r) => r.serial === serial)) revoked.push({ serial, revokedAt: now });
  }
  const crl = await x509.X509CrlGenerator.create({
    // The CA's name as its certificate encodes it: matched byte for byte.
    issuer: ca.cert.subjectName,
    thisUpdate: now,
    nextUpdate: new Date(Math.max(ca.cert.notAfter.getTime(), now.getTime() + DAY_MS)),
    entries: revoked.map((r) => ({
      serialNumber: r.serial,
      revocationDate: r.revokedAt,
      reason: x509.X509CrlReason.superseded,
    })),
    extensions: [
      await authorityKeyIdentifier(ca),
      new x509.Extension(CRL_NUMBER_OID, false, derInteger((before?.number ?? 0n) + 1n)),
    ],
    signingKey: ca.keys.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  return x509.PemConverter.encode(crl.rawData, PEM_LABEL);
}

/** The list's DER as base64, as members get it (etcd 3.6 reads only DER there). */
export function crlDerBase64(pem: string): string {
  return Buffer.from(parseCrlPem(pem).rawData).toString('base64');
}

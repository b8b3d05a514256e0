/**
 * Reading certificates: what `status` shows (expiry, SANs) and what validation needs (chain, key).
 */
import { createHash } from 'node:crypto';
import { canonicalAddress } from '../inventory/addresses.ts';
import type { SubjectAltNames } from './issue.ts';
import { publicKeyDerOfPrivatePem } from './keys.ts';
import * as x509 from './x509.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

export interface CertInfo {
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  sans: SubjectAltNames;
  isCa: boolean;
  /** Extended key usages by name (serverAuth, clientAuth, ...), OIDs for others; empty when unrestricted. */
  extKeyUsage: string[];
  /** SHA-256 of the DER, as openssl prints it (AB:CD:...). */
  fingerprintSha256: string;
}

/** The first certificate of a PEM text; throws when there is none or it cannot be parsed. */
export function parseCertPem(pem: string): x509.X509Certificate {
  const block = PEM_CERTIFICATE.exec(pem)?.[0];
  if (!block) throw new Error('holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  try {
    return new x509.X509Certificate(block);
  } catch (err) {
    throw new Error(`holds a certificate that cannot be parsed: ${(err as Error).message}`, { cause: err });
  }
}

function asCert(cert: string | x509.X509Certificate): x509.X509Certificate {
  return typeof cert === 'string' ? parseCertPem(cert) : cert;
}

export function sansOf(cert: x509.X509Certificate): SubjectAltNames {
  const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  return {
    ips: names.filter((n) => n.type === 'ip').map((n) => canonicalAddress(n.value)),
    dns: names.filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase()),
  };
}

const USAGE_NAMES = new Map<string, string>(Object.entries(x509.ExtendedKeyUsage).map(([k, v]) => [v, k]));

export function extKeyUsageOf(cert: x509.X509Certificate): string[] {
  const usages = cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [];
  // Array.from: the list is an ASN.1 subclass of Array, which map() would return again.
  return Array.from(usages, (oid) => USAGE_NAMES.get(String(oid)) ?? String(oid));
}

export function isCaCert(cert: x509.X509Certificate): boolean {
  return cert.getExtension(x509.BasicConstraintsExtension)?.ca === true;
}

export function fingerprintSha256(cert: x509.X509Certificate): string {
  const hex = createHash('sha256').update(Buffer.from(cert.rawData)).digest('hex').toUpperCase();
  return hex.match(/../g)!.join(':');
}

export function inspectCert(pem: string | x509.X509Certificate): CertInfo {
  const cert = asCert(pem);
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    sans: sansOf(cert),
    isCa: isCaCert(cert),
    extKeyUsage: extKeyUsageOf(cert),
    fingerprintSha256: fingerprintSha256(cert),
  };
}

/** Whole days until notAfter (negative once expired), as `status` shows them. */
export function daysLeft(cert: { notAfter: Date }, now: Date = new Date()): number {
  return Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS);
}

/** Whether `ca` issued `cert`: the issuer is the CA's name, byte for byte, and its key signed it. */
export async function isSignedBy(
  cert: string | x509.X509Certificate,
  ca: string | x509.X509Certificate,
): Promise<boolean> {
  const [c, authority] = [asCert(cert), asCert(ca)];
  const issuer = Buffer.from(c.issuerName.toArrayBuffer());
  if (!issuer.equals(Buffer.from(authority.subjectName.toArrayBuffer()))) return false;
  try {
    return await c.verify({ publicKey: authority.publicKey, signatureOnly: true });
  } catch {
    return false; // a key of another algorithm than the signature's
  }
}

/** Whether the PEM private key is the one whose public half `cert` certifies. */
export function keyMatchesCert(keyPem: string, cert: string | x509.X509Certificate): boolean {
  const certKey = Buffer.from(asCert(cert).publicKey.rawData);
  return publicKeyDerOfPrivatePem(keyPem).equals(certKey);
}

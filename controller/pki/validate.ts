/**
 * What is wrong with a certificate a member would present: the checks `tls.mode: files` runs on
 * the operator's certificates before anything is pushed, and the PKI directory on its own.
 */
import { canonicalAddress, isHostname } from '../inventory/addresses.ts';
import { extKeyUsageOf, isCaCert, isSignedBy, keyMatchesCert, parseCertPem, sansOf } from './inspect.ts';
import { type MemberCertRole, type MemberIdentity, memberSans } from './issue.ts';
import type * as x509 from './x509.ts';

export type CertProblemKind = 'unreadable' | 'chain' | 'san' | 'key' | 'expired' | 'not-yet-valid' | 'usage';

export interface CertProblem {
  kind: CertProblemKind;
  message: string;
}

const problem = (kind: CertProblemKind, message: string): CertProblem => ({ kind, message });

function describeSans(cert: x509.X509Certificate): string {
  const { ips, dns } = sansOf(cert);
  const all = [...ips.map((ip) => `IP ${ip}`), ...dns.map((d) => `DNS ${d}`)];
  return all.length ? all.join(', ') : 'none';
}

function dnsMatches(pattern: string, host: string): boolean {
  if (pattern === host) return true;
  // A wildcard stands for exactly one leftmost label, as TLS clients read it.
  return (
    pattern.startsWith('*.') && host.slice(host.indexOf('.')) === pattern.slice(1) && host.indexOf('.') > 0
  );
}

/** Whether the certificate's SANs name `address` (an IP address or a DNS name). */
export function coversAddress(cert: x509.X509Certificate, address: string): boolean {
  const wanted = canonicalAddress(address);
  const { ips, dns } = sansOf(cert);
  return isHostname(wanted) ? dns.some((d) => dnsMatches(d, wanted)) : ips.includes(wanted);
}

function validityProblems(cert: x509.X509Certificate, what: string, now: Date): CertProblem[] {
  if (now < cert.notBefore) {
    return [problem('not-yet-valid', `${what} is not valid before ${cert.notBefore.toISOString()}`)];
  }
  if (now > cert.notAfter) {
    return [problem('expired', `${what} expired on ${cert.notAfter.toISOString()}`)];
  }
  return [];
}

/** The usages a certificate lacks of `required`; a certificate without the extension may be used for any. */
export function missingUsages(cert: x509.X509Certificate, required: readonly string[]): string[] {
  const usages = extKeyUsageOf(cert);
  return usages.length === 0 ? [] : required.filter((u) => !usages.includes(u));
}

function keyProblems(cert: x509.X509Certificate, keyPem: string): CertProblem[] {
  try {
    return keyMatchesCert(keyPem, cert)
      ? []
      : [problem('key', "the private key is not the certificate's: it belongs to another certificate")];
  } catch (err) {
    return [problem('key', `the private key cannot be read: ${(err as Error).message}`)];
  }
}

/** What makes `ca` unfit to trust at `now`: not a CA, or outside its validity window. */
export function caProblems(ca: x509.X509Certificate, now: Date): CertProblem[] {
  return [
    ...(isCaCert(ca) ? [] : [problem('chain', 'the CA certificate is not a CA (basicConstraints CA:FALSE)')]),
    ...validityProblems(ca, 'the CA certificate', now),
  ];
}

/**
 * The problems of a certificate `ca` should have issued, and its key: the signature, the validity
 * window at `now`, and the extended key usages it must allow (the CA itself: caProblems).
 */
export async function issuedCertProblems(
  cert: x509.X509Certificate,
  keyPem: string | undefined,
  ca: x509.X509Certificate | undefined,
  now: Date,
  usages: readonly string[],
): Promise<CertProblem[]> {
  const problems: CertProblem[] = [];
  if (ca && !(await isSignedBy(cert, ca))) {
    problems.push(
      problem(
        'chain',
        `the certificate was not issued by the CA (${ca.subject}); its issuer is ${cert.issuer}`,
      ),
    );
  }
  problems.push(...validityProblems(cert, 'the certificate', now));
  const missing = missingUsages(cert, usages);
  if (missing.length) {
    problems.push(problem('usage', `the certificate's extended key usage lacks ${missing.join(' and ')}`));
  }
  if (keyPem !== undefined) problems.push(...keyProblems(cert, keyPem));
  return problems;
}

/**
 * The problems of a leaf certificate and its key under `ca`: the CA's own (caProblems), then the
 * certificate's (issuedCertProblems).
 */
export async function leafProblems(
  cert: x509.X509Certificate,
  keyPem: string,
  ca: x509.X509Certificate,
  now: Date,
  usages: readonly string[],
): Promise<CertProblem[]> {
  return [...caProblems(ca, now), ...(await issuedCertProblems(cert, keyPem, ca, now, usages))];
}

/**
 * Everything that would stop a member from serving with this certificate: it must chain to `ca`,
 * match its key, be valid at `now`, name the member's address in its SANs, and allow serverAuth
 * and clientAuth (etcd dials peers, and its own gateway, with it). The member's name is not
 * required in the SANs: clients reach a member by its address.
 */
export async function validateMemberCert(
  certPem: string,
  keyPem: string,
  caPem: string,
  member: MemberIdentity,
  now: Date = new Date(),
): Promise<CertProblem[]> {
  let cert: x509.X509Certificate;
  let ca: x509.X509Certificate;
  try {
    cert = parseCertPem(certPem);
  } catch (err) {
    return [problem('unreadable', `the certificate ${(err as Error).message}`)];
  }
  try {
    ca = parseCertPem(caPem);
  } catch (err) {
    return [problem('unreadable', `the CA certificate ${(err as Error).message}`)];
  }
  const problems = await leafProblems(cert, keyPem, ca, now, ['serverAuth', 'clientAuth']);
  problems.push(...sanProblems(cert, [member.address], `${member.name}'s address`));
  return problems;
}

/** The addresses of `names` the certificate's SANs do not name, as one problem (`whose`: "h1's address"). */
export function sanProblems(
  cert: x509.X509Certificate,
  names: readonly string[],
  whose: string,
): CertProblem[] {
  const missing = names.filter((n) => !coversAddress(cert, n));
  if (missing.length === 0) return [];
  return [
    problem(
      'san',
      `the certificate's SANs (${describeSans(cert)}) do not name ${whose} ${missing.join(' and ')}`,
    ),
  ];
}

/** Whether the certificate's SANs are exactly what tskv issues for this member and role today. */
export function hasIssuedSans(
  cert: x509.X509Certificate,
  role: MemberCertRole,
  member: MemberIdentity,
): boolean {
  const want = memberSans(role, member);
  const got = sansOf(cert);
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));
  return same(want.ips, got.ips) && same(want.dns, got.dns);
}

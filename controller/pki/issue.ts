/**
 * Issuing tskv's certificates: the CA, the client identity, and each member's server and peer
 * certificates. Every notBefore is an hour in the past, so that a host whose clock is behind the
 * controller's still takes a fresh certificate as valid.
 */
import { randomBytes } from 'node:crypto';
import { canonicalAddress, isHostname } from '../inventory/addresses.ts';
import { generateKeyPair, type KeyPair, privateKeyToPem } from './keys.ts';
import * as x509 from './x509.ts';

export const BACKDATE_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;
export const CA_VALIDITY_DAYS = 3650;
export const LEAF_VALIDITY_DAYS = 365;
export const CLIENT_COMMON_NAME = 'tskv';
/**
 * Every member's peer certificate has this common name, and members accept on their peer port
 * only it (--peer-cert-allowed-cn): the client certificate, handed to users for etcdctl, and
 * the server certificates are of the same CA but cannot speak raft.
 */
export const PEER_COMMON_NAME = 'tskv-etcd-peer';

export type MemberCertRole = 'server' | 'peer';

export interface MemberIdentity {
  name: string;
  address: string;
}

/** A certificate and its private key, both PEM. */
export interface IssuedPair {
  certPem: string;
  keyPem: string;
}

/** What signs: the CA certificate and its key pair. */
export interface Authority {
  cert: x509.X509Certificate;
  keys: KeyPair;
}

export interface SubjectAltNames {
  ips: string[];
  dns: string[];
}

const { serverAuth, clientAuth } = x509.ExtendedKeyUsage;

/**
 * The SANs a member's certificate carries: its address (as an IP or a DNS name) and its name when
 * the name is a DNS name; a server certificate also 127.0.0.1 and localhost, for clients on the host.
 */
export function memberSans(role: MemberCertRole, member: MemberIdentity): SubjectAltNames {
  const ips = new Set<string>();
  const dns = new Set<string>();
  const address = canonicalAddress(member.address);
  (isHostname(address) ? dns : ips).add(address);
  if (isHostname(member.name)) dns.add(member.name.toLowerCase());
  if (role === 'server') {
    ips.add('127.0.0.1');
    dns.add('localhost');
  }
  return { ips: [...ips], dns: [...dns] };
}

/** 16 random bytes with the top bit clear (a positive INTEGER) and the next set (never shortened). */
function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString('hex');
}

function validity(now: Date, days: number) {
  return {
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + days * DAY_MS),
  };
}

/** A self-signed CA certificate for `keys`. */
export async function issueCaCert(keys: KeyPair, now: Date = new Date()): Promise<string> {
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    // A tag of its own, so that two tskv CAs (one rotating out) are told apart by name.
    name: [{ CN: [`tskv etcd CA ${randomBytes(4).toString('hex')}`] }],
    keys,
    ...validity(now, CA_VALIDITY_DAYS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return cert.toString('pem');
}

/** A new CA: a fresh key and its self-signed certificate. */
export async function issueCa(now: Date = new Date()): Promise<IssuedPair> {
  const keys = await generateKeyPair();
  return { certPem: await issueCaCert(keys, now), keyPem: privateKeyToPem(keys.privateKey) };
}

export async function authorityKeyIdentifier(ca: Authority): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = ca.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski
    ? new x509.AuthorityKeyIdentifierExtension(ski.keyId)
    : x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey);
}

function sanExtension(sans: SubjectAltNames): x509.SubjectAlternativeNameExtension {
  return new x509.SubjectAlternativeNameExtension([
    ...sans.ips.map((value) => ({ type: 'ip' as const, value })),
    ...sans.dns.map((value) => ({ type: 'dns' as const, value })),
  ]);
}

interface LeafProfile {
  commonName: string;
  usages: x509.ExtendedKeyUsage[];
  sans?: SubjectAltNames;
}

async function issueLeaf(ca: Authority, profile: LeafProfile, now: Date): Promise<IssuedPair> {
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: [{ CN: [profile.commonName] }],
    // The CA's name as its certificate encodes it: chain building matches the bytes.
    issuer: ca.cert.subjectName,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    ...validity(now, LEAF_VALIDITY_DAYS),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(profile.usages),
      ...(profile.sans ? [sanExtension(profile.sans)] : []),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await authorityKeyIdentifier(ca),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: privateKeyToPem(keys.privateKey) };
}

/** The identity tskv (and the operator's etcdctl) presents to etcd. */
export function issueClientCert(ca: Authority, now: Date = new Date()): Promise<IssuedPair> {
  return issueLeaf(ca, { commonName: CLIENT_COMMON_NAME, usages: [clientAuth] }, now);
}

/**
 * A member's server or peer certificate. Both carry clientAuth as well as serverAuth: peers dial
 * each other with the peer certificate, and etcd's gRPC gateway dials its own client port with
 * the server certificate (with --client-cert-auth, a server certificate without clientAuth is
 * refused as "incompatible key usage").
 */
export function issueMemberCert(
  ca: Authority,
  role: MemberCertRole,
  member: MemberIdentity,
  now: Date = new Date(),
): Promise<IssuedPair> {
  return issueLeaf(
    ca,
    {
      commonName: role === 'peer' ? PEER_COMMON_NAME : member.name,
      usages: [serverAuth, clientAuth],
      sans: memberSans(role, member),
    },
    now,
  );
}

/**
 * ECDSA P-256 keys on Node's WebCrypto, stored as PKCS#8 PEM ("BEGIN PRIVATE KEY"), which etcd
 * (Go's crypto/tls) reads as it is.
 */
import { createPrivateKey, createPublicKey, KeyObject, type webcrypto } from 'node:crypto';

export type CryptoKey = webcrypto.CryptoKey;

export const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export interface KeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export async function generateKeyPair(): Promise<KeyPair> {
  // Extractable: the private key is written to its file once issued.
  return (await crypto.subtle.generateKey(KEY_ALGORITHM, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
}

export function privateKeyToPem(key: CryptoKey): string {
  return KeyObject.from(key).export({ format: 'pem', type: 'pkcs8' }) as string;
}

/** A PEM private key as a P-256 key pair that can sign; throws when it is another kind of key. */
export function keyPairFromPem(pem: string): KeyPair {
  const privateKey = createPrivateKey(pem);
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  if (privateKey.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    throw new Error(
      `is a ${privateKey.asymmetricKeyType ?? 'unknown'}${curve ? ` ${curve}` : ''} key, not ECDSA P-256`,
    );
  }
  return {
    privateKey: privateKey.toCryptoKey(KEY_ALGORITHM, false, ['sign']),
    publicKey: createPublicKey(privateKey).toCryptoKey(KEY_ALGORITHM, true, ['verify']),
  };
}

/** The DER SubjectPublicKeyInfo of the public half of a PEM private key (of any algorithm). */
export function publicKeyDerOfPrivatePem(pem: string): Buffer {
  return createPublicKey(createPrivateKey(pem)).export({ format: 'der', type: 'spki' });
}

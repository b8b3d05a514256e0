/**
 * @peculiar/x509, loaded the one way tskv uses it: after the Reflect metadata its tsyringe
 * dependency insists on, and on Node's own WebCrypto. Every PKI module imports x509 from here.
 */
import './reflect-metadata.ts';
import { cryptoProvider } from '@peculiar/x509';

cryptoProvider.set(globalThis.crypto);

export * from '@peculiar/x509';

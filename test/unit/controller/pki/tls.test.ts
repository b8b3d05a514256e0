/**
 * The certificates against a real TLS stack (Node's, on OpenSSL, which checks chains, SANs and
 * key usages much as etcd's Go does): mutual TLS as etcd runs it with --client-cert-auth.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import tls from 'node:tls';
import { ensurePki } from '../../../../controller/pki/index.ts';
import { H1, H2, tempDir } from './pki-fixture.ts';

const dir = await tempDir();
await ensurePki(dir, [H1, H2]);
const pem = (name: string) => readFile(join(dir, name), 'utf8');
const ca = await pem('ca.crt');
const pair = async (stem: string) => ({ cert: await pem(`${stem}.crt`), key: await pem(`${stem}.key`) });

const other = await tempDir();
await ensurePki(other, []);
const foreignClient = {
  cert: await readFile(join(other, 'client.crt'), 'utf8'),
  key: await readFile(join(other, 'client.key'), 'utf8'),
};

interface Served {
  port: number;
  /** The CN of each client the server let through. */
  greeted: string[];
  clientErrors: Error[];
}

/** A server that requires a client certificate from the CA and greets the client by its CN. */
async function serve(identity: { cert: string; key: string }): Promise<Served> {
  const clientErrors: Error[] = [];
  const greeted: string[] = [];
  const server = tls.createServer(
    { ...identity, ca, requestCert: true, rejectUnauthorized: true },
    (socket) => {
      const cn = String(socket.getPeerCertificate().subject.CN);
      greeted.push(cn);
      socket.end(`hello ${cn}`);
    },
  );
  server.on('tlsClientError', (err) => clientErrors.push(err));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  after(() => server.close());
  return { port: (server.address() as AddressInfo).port, greeted, clientErrors };
}

/** What a client gets: the server's greeting, or the error that ended the connection. */
function dial(port: number, options: tls.ConnectionOptions): Promise<{ data: string; error?: Error }> {
  return new Promise((resolve) => {
    let data = '';
    const socket = tls.connect({ host: '127.0.0.1', port, ca, ...options });
    socket.setEncoding('utf8');
    socket.on('data', (d) => (data += d));
    socket.on('error', (error) => resolve({ data, error }));
    socket.on('close', () => resolve({ data }));
  });
}

describe('mutual TLS with the PKI’s certificates', async () => {
  const server = await serve(await pair('members/h1/server'));

  test('the client certificate is accepted by a member’s server certificate on 127.0.0.1', async () => {
    const got = await dial(server.port, await pair('client'));
    assert.equal(got.error, undefined);
    assert.equal(got.data, 'hello tskv');
  });

  test('a connection without a client certificate is refused', async () => {
    const [refusals, greeted] = [server.clientErrors.length, server.greeted.length];
    const got = await dial(server.port, {});
    assert.equal(got.data, '');
    assert.equal(server.greeted.length, greeted, 'the server let it through');
    assert.equal(server.clientErrors.length, refusals + 1, 'the server did not refuse it');
    assert.match(String(server.clientErrors.at(-1)), /peer did not return a certificate/i);
  });

  test('a client certificate of another CA is refused', async () => {
    // Node's server drops a client whose certificate fails verification without an alert.
    const greeted = server.greeted.length;
    const got = await dial(server.port, foreignClient);
    assert.equal(got.data, '');
    assert.equal(server.greeted.length, greeted, 'the server let it through');
  });

  test('the server certificate also serves as a client certificate (etcd’s gateway dials itself with it)', async () => {
    const got = await dial(server.port, await pair('members/h2/server'));
    assert.equal(got.data, 'hello h2');
  });

  test('peers: each peer certificate serves, and dials, for its member’s address', async () => {
    const peer = await serve(await pair('members/h1/peer'));
    const got = await dial(peer.port, {
      ...(await pair('members/h2/peer')),
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(H1.address, cert),
    });
    assert.equal(got.error, undefined);
    assert.equal(got.data, 'hello tskv-etcd-peer', 'every peer certificate has the one CN members accept');
    const wrongHost = await dial(peer.port, {
      ...(await pair('members/h2/peer')),
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(H2.address, cert),
    });
    assert.match(String(wrongHost.error), /does not match|not in the cert's list/i);
  });

  test('the client certificate cannot serve: it lacks serverAuth', async () => {
    const impostor = await serve(await pair('client'));
    const got = await dial(impostor.port, await pair('members/h2/peer'));
    assert.equal(got.data, '');
    assert.match(String(got.error), /unsuitable certificate purpose/);
  });
});

/**
 * The TLS tskv speaks to etcd through an SSH channel (controller/etcd-tunnel.ts), against Node's
 * HTTPS server with the PKI's certificates standing in for etcd: the client certificate is
 * presented, and a server certificate of another CA or for another address is refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import type { HostConnection } from '../../../controller/connect/types.ts';
import { EtcdClient } from '../../../controller/etcd/index.ts';
import { openEtcdTunnel } from '../../../controller/etcd-tunnel.ts';
import { parseInventory } from '../../../controller/inventory/load.ts';
import {
  advanceCaRotation,
  currentTrust,
  ensurePki,
  issueMemberCert,
  parseCertPem,
  startCaRotation,
} from '../../../controller/pki/index.ts';
import { waitFor } from '../../../controller/wait.ts';
import { newAuthority } from './pki/pki-fixture.ts';

const SEED = resolve(import.meta.dirname, '../../../inventories/seed.yaml');

/** A connection whose every TCP channel reaches `port` on this machine, whatever it was asked for. */
function loopbackConnection(port: () => number): HostConnection {
  return {
    host: 'h102',
    openTcp: async () => connect(port(), '127.0.0.1'),
  } as unknown as HostConnection;
}

describe('TLS through the tunnel to etcd', () => {
  let dir: string;
  let servers: Server[] = [];
  const pkiFile = (name: string) => join(dir, 'pki', name);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-tunnel-tls-'));
    await ensurePki(join(dir, 'pki'), [{ name: 'h102', address: '192.168.100.102' }]);
  });
  after(() => {
    for (const s of servers) s.close();
    servers = [];
    rmSync(dir, { recursive: true, force: true });
  });

  const inventory = () => {
    const text = `${readFileSync(SEED, 'utf8').replace('tls: { mode: off }\n', '')}tls:\n  mode: auto\n  dir: ${join(dir, 'pki')}\n`;
    return parseInventory(Buffer.from(text), join(dir, 'inv.yaml'));
  };

  /** etcd's /health over HTTPS with `cert`/`key`, asking for a client certificate of the PKI's CA. */
  async function etcdLike(cert: string, key: string): Promise<{ port: number; peers: string[] }> {
    const peers: string[] = [];
    const server = createServer(
      { cert, key, ca: readFileSync(pkiFile('ca.crt')), requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        peers.push(String((req.socket as TLSSocket).getPeerCertificate().subject?.CN ?? ''));
        res.setHeader('content-type', 'application/json');
        res.end('{"health":"true"}');
      },
    );
    servers.push(server);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    return { port: (server.address() as AddressInfo).port, peers };
  }

  test('the member’s server certificate (127.0.0.1 in its SANs): healthy, tskv’s client certificate presented', async () => {
    const etcd = await etcdLike(
      readFileSync(pkiFile('members/h102/server.crt'), 'utf8'),
      readFileSync(pkiFile('members/h102/server.key'), 'utf8'),
    );
    const tunnel = openEtcdTunnel(
      loopbackConnection(() => etcd.port),
      inventory(),
    );
    try {
      assert.equal((await new EtcdClient(tunnel.endpoint, { timeoutMs: 5000 }).health()).healthy, true);
      assert.deepEqual(etcd.peers, ['tskv']);
    } finally {
      await tunnel.close();
    }
  });

  test('a server certificate of another CA is refused', async () => {
    const other = await newAuthority();
    const pair = await issueMemberCert(other.authority, 'server', {
      name: 'h102',
      address: '192.168.100.102',
    });
    const etcd = await etcdLike(pair.certPem, pair.keyPem);
    const tunnel = openEtcdTunnel(
      loopbackConnection(() => etcd.port),
      inventory(),
    );
    try {
      await assert.rejects(
        new EtcdClient(tunnel.endpoint, { timeoutMs: 5000 }).health(),
        /UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
      );
      assert.deepEqual(etcd.peers, [], 'no request reached the impostor');
    } finally {
      await tunnel.close();
    }
  });

  test('tls.mode files: the identity of tls.client, checked against tls.ca', async () => {
    const etcd = await etcdLike(
      readFileSync(pkiFile('members/h102/server.crt'), 'utf8'),
      readFileSync(pkiFile('members/h102/server.key'), 'utf8'),
    );
    // h102's peer certificate (clientAuth, CN tskv-etcd-peer) as the client: not the PKI folder's tskv.
    const hosts = readFileSync(SEED, 'utf8')
      .replace('tls: { mode: off }\n', '')
      .replace(/(\w+): \{ address: ([\d.]+) \}/g, '$1: { address: $2, tls: { cert: $1.crt, key: $1.key } }');
    const files = parseInventory(
      Buffer.from(
        `${hosts}tls:\n  mode: files\n  ca: ${pkiFile('ca.crt')}\n  client: { cert: ${pkiFile('members/h102/peer.crt')}, key: ${pkiFile('members/h102/peer.key')} }\n`,
      ),
      join(dir, 'files.yaml'),
    );
    const tunnel = openEtcdTunnel(
      loopbackConnection(() => etcd.port),
      files,
    );
    try {
      assert.equal((await new EtcdClient(tunnel.endpoint, { timeoutMs: 5000 }).health()).healthy, true);
      assert.deepEqual(etcd.peers, ['tskv-etcd-peer']);
    } finally {
      await tunnel.close();
    }
  });

  test('a member reached through another host: its certificate must name the address in its client URL', async () => {
    const etcd = await etcdLike(
      readFileSync(pkiFile('members/h102/server.crt'), 'utf8'),
      readFileSync(pkiFile('members/h102/server.key'), 'utf8'),
    );
    const conn = loopbackConnection(() => etcd.port);
    const right = openEtcdTunnel(conn, inventory(), {
      name: 'h102',
      clientUrl: 'https://192.168.100.102:2379',
    });
    const wrong = openEtcdTunnel(conn, inventory(), {
      name: 'h104',
      clientUrl: 'https://192.168.100.104:2379',
    });
    try {
      assert.equal((await new EtcdClient(right.endpoint, { timeoutMs: 5000 }).health()).healthy, true);
      await assert.rejects(
        new EtcdClient(wrong.endpoint, { timeoutMs: 5000 }).health(),
        /ERR_TLS_CERT_ALTNAME_INVALID/,
      );
    } finally {
      await right.close();
      await wrong.close();
    }
  });
});

describe('the tunnel during a CA rotation', () => {
  let dir: string;
  const servers: Server[] = [];
  const member = { name: 'h102', address: '192.168.100.102' };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tskv-tunnel-rotation-'));
    await ensurePki(join(dir, 'pki'), [member]);
  });
  after(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const pki = (name: string) => readFileSync(join(dir, 'pki', name), 'utf8');

  /** A member serving its certificate of the moment, trusting what members trust; the issuers of the clients it saw. */
  async function member102(): Promise<{ port: number; server: Server; clientIssuers: string[] }> {
    const clientIssuers: string[] = [];
    const server = createServer(
      {
        cert: pki('members/h102/server.crt'),
        key: pki('members/h102/server.key'),
        ca: (await currentTrust(join(dir, 'pki'))).trust,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        clientIssuers.push(String((req.socket as TLSSocket).getPeerCertificate().issuer?.CN ?? ''));
        res.setHeader('content-type', 'application/json');
        res.end('{"health":"true"}');
      },
    );
    servers.push(server);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    return { port: (server.address() as AddressInfo).port, server, clientIssuers };
  }

  test('members of either CA are trusted, and each new connection carries the client identity of the moment', async () => {
    const text = `${readFileSync(SEED, 'utf8').replace('tls: { mode: off }\n', '')}tls:\n  mode: auto\n  dir: ${join(dir, 'pki')}\n`;
    const inv = parseInventory(Buffer.from(text), join(dir, 'inv.yaml'));
    const oldCa = parseCertPem(pki('ca.crt')).subject.replace(/^CN=/, '');
    await startCaRotation(join(dir, 'pki'), [member]);
    const newCa = parseCertPem(pki('ca.crt')).subject.replace(/^CN=/, '');
    let target = await member102(); // still the retiring CA's server certificate
    const tunnel = openEtcdTunnel(
      loopbackConnection(() => target.port),
      inv,
    );
    const client = new EtcdClient(tunnel.endpoint, { timeoutMs: 5000 });
    try {
      assert.equal((await client.health()).healthy, true);
      assert.deepEqual(target.clientIssuers, [oldCa]);
      await advanceCaRotation(join(dir, 'pki'), 'reissue', [member]);
      const before = target;
      target = await member102(); // the new CA's server certificate now, as after its restart
      before.server.closeAllConnections();
      // The first request may still go out on the closed connection, as to a member that restarts.
      await waitFor(async () => (await client.health().catch(() => undefined))?.healthy === true, {
        deadlineMs: 5000,
        intervalMs: 20,
        describe: 'a health answer over a new connection',
      });
      assert.deepEqual(
        target.clientIssuers,
        [newCa],
        'the new client certificate, read for the new connection',
      );
    } finally {
      await tunnel.close();
    }
  });
});

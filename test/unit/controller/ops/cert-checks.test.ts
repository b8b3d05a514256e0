import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { type CertSource, certExpiryChecks } from '../../../../controller/ops/cert-checks.ts';
import { formatCheck } from '../../../../controller/ops/checks.ts';
import { issueClientCert, issueMemberCert } from '../../../../controller/pki/index.ts';
import { DAY_MS, H1, newAuthority } from '../pki/pki-fixture.ts';

describe('preflight: certificate expiry', () => {
  const issuedAt = new Date('2026-01-01T00:00:00Z');
  const at = (days: number) => new Date(issuedAt.getTime() + days * DAY_MS);
  let ca: string;
  let client: string;
  let server: string;
  before(async () => {
    const authority = await newAuthority(issuedAt);
    ca = authority.pair.certPem;
    client = (await issueClientCert(authority.authority, issuedAt)).certPem;
    server = (await issueMemberCert(authority.authority, 'server', H1, issuedAt)).certPem;
  });

  const one = (source: CertSource, now: Date) => {
    const checks = certExpiryChecks('h1', [source], now);
    assert.equal(checks.length, 1);
    return checks[0]!;
  };

  test('a year-long certificate: ok the day after; under 30 days left warns, deploy renews it', () => {
    const src: CertSource = { role: 'client', where: 'client.crt in /pki', pem: client };
    assert.equal(one(src, at(1)).status, 'ok');
    assert.equal(one(src, at(334)).status, 'ok', '31 days left');
    const soon = one(src, at(341));
    assert.equal(soon.status, 'warn');
    assert.equal(soon.fixedByDeploy, true);
    assert.match(
      formatCheck(soon),
      /^WARN h1 certificates: tskv's client certificate \(client\.crt in \/pki\) expires in 24 days, on 2027-01-01T00:00:00\.000Z — fix: tskv deploy renews it$/,
    );
  });

  test('an expired member certificate fails preflight, but deploy is not blocked: it renews it', () => {
    const expired = one({ role: 'server', where: '/etc/etcd/pki/server.crt on h1', pem: server }, at(366));
    assert.equal(expired.status, 'fail');
    assert.equal(expired.fixedByDeploy, true);
    assert.match(expired.observed, /^server certificate \(\/etc\/etcd\/pki\/server\.crt on h1\) expired on /);
    assert.match(expired.fix ?? '', /tskv deploy renews it and restarts/);
  });

  test('the CA: deploy never replaces it, so an expired one blocks deploy too', () => {
    const src: CertSource = { role: 'ca', where: 'ca.crt in /pki', pem: ca };
    assert.equal(one(src, at(400)).status, 'ok');
    const ending = one(src, at(3640));
    assert.equal(ending.status, 'warn');
    assert.equal(ending.fixedByDeploy, undefined);
    assert.match(ending.fix ?? '', /rotated/);
    const expired = one(src, at(3660));
    assert.equal(expired.status, 'fail');
    assert.equal(expired.fixedByDeploy, undefined);
  });

  test('the same certificate in the PKI and on its host is judged once, naming both places', () => {
    const checks = certExpiryChecks(
      'h1',
      [
        { role: 'server', where: '/etc/etcd/pki/server.crt on h1', pem: server },
        { role: 'server', where: 'members/h1/server.crt in /pki', pem: `${server}\n` },
        { role: 'client', where: 'client.crt in /pki', pem: client },
      ],
      at(350),
    );
    assert.deepEqual(
      checks.map((c) => [c.status, c.observed.replace(/ expires in .*/, '')]),
      [
        ['warn', 'server certificate (/etc/etcd/pki/server.crt on h1, members/h1/server.crt in /pki)'],
        ['warn', "tskv's client certificate (client.crt in /pki)"],
      ],
    );
  });

  test('an unreadable certificate fails; a leaf is issued again by deploy', () => {
    const bad = one({ role: 'peer', where: 'members/h1/peer.crt in /pki', pem: 'garbage' }, at(1));
    assert.equal(bad.status, 'fail');
    assert.equal(bad.fixedByDeploy, true);
    assert.match(bad.observed, /holds no PEM certificate/);
  });
});

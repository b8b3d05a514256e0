import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ETCD_PKI_FILES } from '../../../../agent/api/index.ts';
import { planRotation, type RotateHost, type RotatePlan } from '../../../../controller/ops/rotate-plan.ts';
import { MEMBER_TLS_FILES } from '../../../../controller/ops/tls-files.ts';

const want = new Map(MEMBER_TLS_FILES.map((f) => [f.path, `content of ${f.path}`]));
const right = (m: ReadonlyMap<string, string | undefined>) =>
  new Map([...m].map(([p, c]) => [p, { content: c!, mode: 0o640, owner: 'root:etcd' }]));

function host(name: string, changed: string[] = [], pending = false): RotateHost {
  const have = right(want);
  for (const p of changed) have.set(p, { ...have.get(p)!, content: 'old' });
  return { name, want, have, pending };
}

const HOSTS = ['h102', 'docker', 'h104'];
const lines = (plan: RotatePlan) =>
  plan.steps.map(
    (s) =>
      `${s.host ? `${s.host}: ` : ''}${s.kind}${'paths' in s ? ` ${s.paths.map((p) => p.split('/').pop()).join(',')}` : ''}${'action' in s ? ` ${s.action}` : ''}`,
  );

describe('the plan of certs rotate', () => {
  test('certificates: the PKI first, each member its pairs and its restart (the leader last), then the revocation on every member', () => {
    const plan = planRotation({
      kind: 'certs',
      recorded: undefined,
      hosts: HOSTS.map((h) => host(h)),
      leader: 'h102',
    });
    assert.deepEqual(lines(plan), [
      'pki start-certs',
      'docker: tls server.crt,server.key,peer.crt,peer.key',
      'docker: restart',
      'h104: tls server.crt,server.key,peer.crt,peer.key',
      'h104: restart',
      'h102: tls server.crt,server.key,peer.crt,peer.key',
      'h102: restart',
      'pki revoke',
      'docker: tls crl.der',
      'h104: tls crl.der',
      'h102: tls crl.der',
      'pki end',
    ]);
    assert.deepEqual(plan.restarts, ['docker', 'h104', 'h102']);
    assert.equal(plan.resumes, undefined);
    const crl = plan.steps.filter((s) => 'paths' in s && s.paths.includes(ETCD_PKI_FILES.crl));
    assert.ok(
      crl.every((s) => s.together === 'place the revocation list on every member'),
      'side by side',
    );
  });

  test('resumed: a member with its new pairs already is left alone; one whose pairs the PKI has yet to issue is not', () => {
    const plan = planRotation({
      kind: 'certs',
      recorded: { kind: 'certs' },
      hosts: [
        host('h102'),
        host('docker', [ETCD_PKI_FILES.serverCert, ETCD_PKI_FILES.serverKey]),
        host('h104', [], true),
      ],
      leader: undefined,
      revokeCount: 9,
    });
    assert.deepEqual(lines(plan).slice(0, 6), [
      'pki start-certs',
      'docker: tls server.crt,server.key',
      'docker: restart',
      'h104: tls server.crt,server.key,peer.crt,peer.key',
      'h104: restart',
      'pki revoke',
    ]);
    assert.deepEqual(plan.resumes, {});
    assert.match(plan.steps[5]!.title, /revoke the replaced certificates \(9\)/);
  });

  test('the CA: three passes, each after the PKI step that allows it, then the retiring CA removed', () => {
    const plan = planRotation({
      kind: 'ca',
      recorded: undefined,
      hosts: HOSTS.map((h) => host(h)),
      leader: 'docker',
    });
    const pass = (paths: string) =>
      ['h102', 'h104', 'docker'].flatMap((h) => [`${h}: tls ${paths}`, `${h}: restart`]);
    assert.deepEqual(lines(plan), [
      'pki start-ca',
      ...pass('ca.crt'),
      'pki reissue',
      ...pass('server.crt,server.key,peer.crt,peer.key'),
      'pki drop',
      ...pass('ca.crt,crl.der'),
      'pki end',
    ]);
    assert.match(plan.steps[2]!.title, /pass 1 of 3: trust the retiring and the new CA/);
  });

  test('the CA resumed in its second pass: the first is done, members through the second are left alone', () => {
    const plan = planRotation({
      kind: 'ca',
      recorded: { kind: 'ca', phase: 'reissue' },
      hosts: [host('h102'), host('docker', [ETCD_PKI_FILES.peerKey]), host('h104')],
      leader: undefined,
    });
    assert.deepEqual(lines(plan).slice(0, 4), [
      'pki reissue',
      'docker: tls peer.key',
      'docker: restart',
      'pki drop',
    ]);
    assert.equal(lines(plan).at(-1), 'pki end');
    assert.deepEqual(plan.resumes, { phase: 'reissue' });
  });

  test('a new revocation list alone restarts no member', () => {
    const plan = planRotation({
      kind: 'ca',
      recorded: { kind: 'ca', phase: 'drop' },
      hosts: [host('h102', [ETCD_PKI_FILES.crl]), host('docker'), host('h104')],
      leader: undefined,
    });
    assert.deepEqual(lines(plan), ['pki drop', 'h102: tls crl.der', 'pki end']);
  });
});

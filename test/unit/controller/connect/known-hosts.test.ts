import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  fingerprintSha256,
  keyTypeOfBlob,
  preferredHostKeyAlgorithms,
} from '../../../../controller/connect/host-key.ts';
import {
  checkHostKey,
  formatKnownHostsLine,
  hostFieldMatches,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
} from '../../../../controller/connect/known-hosts.ts';

// Generated with ssh-keygen; fingerprints as printed by `ssh-keygen -lf`, hashed lines by `ssh-keygen -H`.
const K1 = 'AAAAC3NzaC1lZDI1NTE5AAAAILzNBV8yBlTDFXad2yHYdHsBsF5HNLy96mgRMU3HyTjg';
const K1_FP = 'SHA256:gI9tmdAFmk7FVb+RlooN//6fnomlcJz38GrhH/KPWMg';
const K2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIK0ZFkFkKXT+GOyMg6L+LR/zWmeeaLxJrFKCTtL9vXfG';
const K2_FP = 'SHA256:0JXn+Sg+uHUbYRVlVbRq0o1Jj7vmZeVsYLMpezpMQyA';
const HASHED_EXAMPLE_ORG = '|1|lCAuMBWD8mEVQ5MyXx5t1ThWMWc=|4attRpAW4EoRQZ0GNj5HGlIqops=';
const HASHED_EXAMPLE_ORG_2222 = '|1|mtVNQ+ROJ8/JBFVpClG+XkSMXgA=|rR5ZBDGpCIjjHdVO4DoPr/yEw1U=';
const blob = (b64: string): Buffer => Buffer.from(b64, 'base64');

describe('fingerprints', () => {
  test('OpenSSH SHA256 format without padding', () => {
    assert.equal(fingerprintSha256(blob(K1)), K1_FP);
    assert.equal(fingerprintSha256(blob(K2)), K2_FP);
  });
  test('key type is read from the blob', () => {
    assert.equal(keyTypeOfBlob(blob(K1)), 'ssh-ed25519');
    assert.equal(keyTypeOfBlob(Buffer.from([0, 0])), 'unknown');
  });
});

describe('parseKnownHosts', () => {
  test('plain, markers, comments, blank and malformed lines', () => {
    const entries = parseKnownHosts(
      [
        '# a comment',
        '',
        `host1,10.0.0.1 ssh-ed25519 ${K1} comment words`,
        `@revoked host2 ssh-ed25519 ${K2}`,
        `@cert-authority *.example.org ssh-ed25519 ${K1}`,
        `@unknown-marker host3 ssh-ed25519 ${K1}`,
        'host4 ssh-ed25519',
        'host5 ssh-ed25519 not*base64',
        `   host6   ssh-ed25519   ${K2}   `,
      ].join('\n'),
    );
    assert.deepEqual(
      entries.map((e) => [e.line, e.marker, e.hosts]),
      [
        [3, undefined, 'host1,10.0.0.1'],
        [4, 'revoked', 'host2'],
        [5, 'cert-authority', '*.example.org'],
        [9, undefined, 'host6'],
      ],
    );
    assert.ok(entries[0]?.keyBlob.equals(blob(K1)));
  });
  test('CRLF line endings', () => {
    assert.equal(parseKnownHosts(`a ssh-ed25519 ${K1}\r\nb ssh-ed25519 ${K2}\r\n`).length, 2);
  });
});

describe('host matching', () => {
  test('lookup name uses [host]:port for non-22 ports', () => {
    assert.equal(knownHostsName('10.0.0.1', 22), '10.0.0.1');
    assert.equal(knownHostsName('10.0.0.1', 2222), '[10.0.0.1]:2222');
  });
  test('comma-separated patterns, wildcards, negation, case', () => {
    assert.ok(hostFieldMatches('a,b,10.0.0.1', '10.0.0.1', 22));
    assert.ok(!hostFieldMatches('a,b,10.0.0.1', '10.0.0.1', 2222));
    assert.ok(hostFieldMatches('[10.0.0.1]:2222', '10.0.0.1', 2222));
    assert.ok(hostFieldMatches('*.example.org', 'DB.Example.org', 22));
    assert.ok(hostFieldMatches('10.0.0.?', '10.0.0.7', 22));
    assert.ok(!hostFieldMatches('10.0.0.?', '10.0.0.17', 22));
    assert.ok(!hostFieldMatches('*.example.org,!bad.example.org', 'bad.example.org', 22));
    assert.ok(!hostFieldMatches('10.0.0.1', '10.0.0.10', 22));
  });
  test('hashed entries (HMAC-SHA1), with and without port', () => {
    assert.ok(hostFieldMatches(HASHED_EXAMPLE_ORG, 'example.org', 22));
    assert.ok(!hostFieldMatches(HASHED_EXAMPLE_ORG, 'example.com', 22));
    assert.ok(!hostFieldMatches(HASHED_EXAMPLE_ORG, 'example.org', 2222));
    assert.ok(hostFieldMatches(HASHED_EXAMPLE_ORG_2222, 'example.org', 2222));
    assert.ok(!hostFieldMatches('|1|garbage', 'example.org', 22));
  });
});

describe('checkHostKey', () => {
  const entries = parseKnownHosts(
    [
      `${HASHED_EXAMPLE_ORG} ssh-ed25519 ${K1}`,
      `[10.0.0.1]:2222 ssh-ed25519 ${K1}`,
      `@revoked 10.0.0.2 ssh-ed25519 ${K2}`,
      `@cert-authority 10.0.0.3 ssh-ed25519 ${K2}`,
    ].join('\n'),
  );
  test('known key (hashed and port entries)', () => {
    assert.deepEqual(checkHostKey(entries, 'example.org', 22, blob(K1)), { kind: 'known' });
    assert.deepEqual(checkHostKey(entries, '10.0.0.1', 2222, blob(K1)), { kind: 'known' });
  });
  test('unknown host', () => {
    assert.deepEqual(checkHostKey(entries, '10.0.0.1', 22, blob(K1)), { kind: 'unknown' });
  });
  test('changed key names the expected entry', () => {
    const verdict = checkHostKey(entries, '10.0.0.1', 2222, blob(K2));
    assert.equal(verdict.kind, 'changed');
    assert.ok(verdict.kind === 'changed' && verdict.expected[0]?.line === 2);
  });
  test('revoked key is refused; a cert-authority line does not make a host known', () => {
    assert.deepEqual(checkHostKey(entries, '10.0.0.2', 22, blob(K2)), { kind: 'revoked', line: 3 });
    assert.deepEqual(checkHostKey(entries, '10.0.0.3', 22, blob(K2)), { kind: 'unknown' });
  });
  test('known key types steer host key algorithm preference', () => {
    assert.deepEqual(knownKeyTypes(entries, '10.0.0.1', 2222), ['ssh-ed25519']);
    assert.deepEqual(preferredHostKeyAlgorithms(['ecdsa-sha2-nistp256', 'ssh-ed25519']).slice(0, 2), [
      'ssh-ed25519',
      'ecdsa-sha2-nistp256',
    ]);
    assert.deepEqual(preferredHostKeyAlgorithms(['ssh-rsa']).slice(0, 3), [
      'rsa-sha2-512',
      'rsa-sha2-256',
      'ssh-rsa',
    ]);
    assert.equal(
      new Set(preferredHostKeyAlgorithms(['ssh-rsa'])).size,
      preferredHostKeyAlgorithms([]).length,
    );
  });
  test('recorded line round-trips', () => {
    const line = formatKnownHostsLine('10.0.0.9', 2200, 'ssh-ed25519', blob(K2));
    assert.equal(line, `[10.0.0.9]:2200 ssh-ed25519 ${K2}`);
    assert.deepEqual(checkHostKey(parseKnownHosts(line), '10.0.0.9', 2200, blob(K2)), { kind: 'known' });
  });
});

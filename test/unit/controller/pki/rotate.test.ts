/**
 * Rotations in the PKI folder: the record a re-run resumes from, the certificates issued again and
 * the old ones revoked, and a CA rotation's three phases (what members trust and which CA issues).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  acceptedTrust,
  advanceCaRotation,
  bundle,
  currentTrust,
  endRotation,
  ensurePki,
  inspectCrl,
  isCrlOf,
  isSignedBy,
  memberMaterial,
  parseCertPem,
  readRotation,
  revokeReplaced,
  startCaRotation,
  startCertRotation,
} from '../../../../controller/pki/index.ts';
import { writeRotation } from '../../../../controller/pki/rotation.ts';
import { expectTskvError } from '../../../fixtures/expect-tskv-error.ts';
import { H1, H2, tempDir } from './pki-fixture.ts';

const MEMBERS = [H1, H2];
const LEAVES = [
  'client.crt',
  'members/h1/server.crt',
  'members/h1/peer.crt',
  'members/h2/server.crt',
  'members/h2/peer.crt',
];

const read = (dir: string, name: string) => readFile(join(dir, name), 'utf8');
const serial = async (dir: string, name: string) => parseCertPem(await read(dir, name)).serialNumber;
const serials = (dir: string) => Promise.all(LEAVES.map((l) => serial(dir, l)));
/** The serials the certificate rotation in progress will revoke. */
async function toRevoke(dir: string): Promise<string[] | undefined> {
  const rotation = await readRotation(dir);
  return rotation?.kind === 'certs' ? rotation.revoke : undefined;
}
const certsIn = (pem: string) => pem.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;

async function deployed(): Promise<string> {
  const dir = await tempDir();
  await ensurePki(dir, MEMBERS);
  return dir;
}

describe('the rotation record', () => {
  test('none: undefined; written: read back; not one tskv wrote: refused by name', async () => {
    const dir = await deployed();
    assert.equal(await readRotation(dir), undefined);
    const record = { kind: 'certs' as const, started: new Date().toISOString(), revoke: ['4a0b'] };
    await writeRotation(dir, record);
    assert.deepEqual(await readRotation(dir), record);
    await writeFile(join(dir, 'rotation.json'), '{"kind":"ca","phase":"halfway"}');
    const err = await expectTskvError(readRotation(dir));
    assert.equal(err.code, 'E_INPUT');
    assert.match(err.message, /rotation\.json is not a rotation record tskv wrote/);
    await writeFile(join(dir, 'rotation.json'), 'not json');
    assert.match((await expectTskvError(readRotation(dir))).message, /not a rotation record/);
  });
});

describe('rotating the certificates', () => {
  test('every pair is issued again, the old serials recorded; a re-run issues nothing more', async () => {
    const dir = await deployed();
    const old = await serials(dir);
    const result = await startCertRotation(dir, MEMBERS);
    assert.deepEqual(
      result.changes.map((c) => `${c.action} ${c.file} (${c.reason})`),
      LEAVES.map((l) => `renewed ${l} (rotated (tskv certs rotate))`),
    );
    const now = await serials(dir);
    assert.ok(now.every((s) => !old.includes(s)));
    assert.deepEqual(await toRevoke(dir), old);
    assert.deepEqual((await startCertRotation(dir, MEMBERS)).changes, [], 'resumed: nothing issued twice');
    assert.deepEqual(await serials(dir), now);
    assert.match(
      (await ensurePki(dir, MEMBERS)).warnings.join('\n'),
      /a certificate rotation is in progress/,
    );
  });

  test('stopped after the record was written: the pairs still carrying a recorded serial are issued again', async () => {
    const dir = await deployed();
    const old = await serials(dir);
    await writeRotation(dir, { kind: 'certs', started: new Date().toISOString(), revoke: old });
    const result = await startCertRotation(dir, MEMBERS);
    assert.equal(result.changes.length, LEAVES.length);
    assert.deepEqual(await toRevoke(dir), old);
  });

  test('the list members check is unchanged until the old serials are revoked, once; then the record ends', async () => {
    const dir = await deployed();
    const before = await memberMaterial(dir, 'h1');
    const old = await serials(dir);
    await startCertRotation(dir, MEMBERS);
    const during = await memberMaterial(dir, 'h1');
    assert.equal(during.crl, before.crl, 'no member refuses an old certificate while others still use it');
    assert.equal(during.trust, before.trust);
    assert.notEqual(during.server.cert, before.server.cert);
    const revoked = await revokeReplaced(dir);
    assert.deepEqual(
      revoked.changes.map((c) => c.file),
      ['ca.crl'],
    );
    const crl = await read(dir, 'ca.crl');
    assert.deepEqual(
      inspectCrl(crl)
        .revoked.map((r) => r.serial)
        .sort(),
      [...old].sort(),
    );
    assert.equal((await memberMaterial(dir, 'h1')).crl, crl);
    assert.deepEqual((await revokeReplaced(dir)).changes, [], 'again: nothing');
    await endRotation(dir);
    assert.equal(await readRotation(dir), undefined);
    assert.deepEqual((await ensurePki(dir, MEMBERS)).changes, []);
  });
});

describe('rotating the CA', () => {
  test('three phases: trust both, issue under the new, trust only the new; then the retiring CA is gone', async () => {
    const dir = await deployed();
    const oldCa = await read(dir, 'ca.crt');
    const oldKey = await read(dir, 'ca.key');
    const oldCrl = await read(dir, 'ca.crl');
    const oldLeaves = await serials(dir);

    const { rotation, pki } = await startCaRotation(dir, MEMBERS);
    assert.equal(rotation.phase, 'trust');
    assert.deepEqual(
      pki.changes.map((c) => `${c.action} ${c.file}`),
      ['created retiring-ca.crt', 'created ca.crt'],
    );
    assert.equal(await read(dir, 'retiring-ca.crt'), oldCa);
    assert.equal(await read(dir, 'retiring-ca.key'), oldKey);
    assert.equal(await read(dir, 'retiring-ca.crl'), oldCrl);
    const newCa = await read(dir, 'ca.crt');
    assert.notEqual(newCa, oldCa);
    assert.equal(await isCrlOf(await read(dir, 'ca.crl'), parseCertPem(newCa)), true);

    // Pass 1: members trust both; everything is still the retiring CA's.
    let trust = await currentTrust(dir);
    assert.equal(trust.trust, bundle(oldCa, newCa));
    assert.equal(certsIn(trust.trust!), 2);
    assert.equal(trust.crl, oldCrl);
    assert.deepEqual(await serials(dir), oldLeaves);
    assert.deepEqual((await ensurePki(dir, MEMBERS)).changes, [], 'deploy meanwhile issues nothing');
    assert.deepEqual(
      new Set(await acceptedTrust(dir)),
      new Set([oldCa, newCa, bundle(oldCa, newCa)]),
      'hosts before, in and after the pass are all of this PKI',
    );
    assert.deepEqual((await startCaRotation(dir, MEMBERS)).pki.changes, [], 'resumed: no second new CA');
    assert.equal(await read(dir, 'ca.crt'), newCa);

    // Pass 2: every pair, the client's too, issued by the new CA; members still trust both.
    const reissued = await advanceCaRotation(dir, 'reissue', MEMBERS);
    assert.deepEqual(
      reissued.changes.map((c) => `${c.file}: ${c.reason}`),
      LEAVES.map((l) => `${l}: issued by the retiring CA (tskv certs rotate --ca)`),
    );
    for (const leaf of LEAVES) assert.ok(await isSignedBy(await read(dir, leaf), newCa), leaf);
    trust = await currentTrust(dir);
    assert.equal(trust.trust, bundle(oldCa, newCa));
    assert.equal(trust.crl, oldCrl, "the retiring CA's revocations hold while it is trusted");
    assert.deepEqual((await advanceCaRotation(dir, 'reissue', MEMBERS)).changes, [], 'again: nothing');

    // Pass 3: only the new CA, and its own list.
    await advanceCaRotation(dir, 'drop', MEMBERS);
    trust = await currentTrust(dir);
    assert.equal(trust.trust, newCa);
    assert.equal(trust.crl, await read(dir, 'ca.crl'));
    assert.equal((await memberMaterial(dir, 'h2')).trust, newCa);

    const ended = await endRotation(dir);
    assert.deepEqual(
      ended.changes.map((c) => `${c.action} ${c.file}`),
      ['removed retiring-ca.crt'],
    );
    for (const f of ['retiring-ca.crt', 'retiring-ca.key', 'retiring-ca.crl', 'rotation.json'])
      assert.equal(existsSync(join(dir, f)), false, f);
    assert.deepEqual(await acceptedTrust(dir), [newCa]);
    assert.deepEqual((await ensurePki(dir, MEMBERS)).changes, []);
  });

  test('stopped while the new CA was being written (its key, not yet its certificate): a re-run makes it whole', async () => {
    const dir = await deployed();
    const oldCa = await read(dir, 'ca.crt');
    await startCaRotation(dir, MEMBERS);
    // As a run killed between ca.key and ca.crt leaves it: the certificate still the retiring one.
    await writeFile(join(dir, 'ca.crt'), oldCa);
    const { pki } = await startCaRotation(dir, MEMBERS);
    assert.deepEqual(
      pki.changes.map((c) => `${c.action} ${c.file}`),
      ['created ca.crt'],
    );
    const newCa = await read(dir, 'ca.crt');
    assert.notEqual(newCa, oldCa);
    assert.equal((await currentTrust(dir)).trust, bundle(oldCa, newCa));
    await advanceCaRotation(dir, 'reissue', MEMBERS);
    assert.ok(
      await isSignedBy(await read(dir, 'client.crt'), newCa),
      'the new key signs for the new certificate',
    );
  });

  test('one rotation at a time: the other kind is refused until it is finished', async () => {
    const dir = await deployed();
    await startCertRotation(dir, MEMBERS);
    const ca = await expectTskvError(startCaRotation(dir, MEMBERS));
    assert.equal(ca.code, 'E_REFUSED');
    assert.match(ca.message, /rotating the CA refused: a certificate rotation is in progress/);
    assert.match(ca.fix!, /tskv certs rotate INVENTORY$/);
    await revokeReplaced(dir);
    await endRotation(dir);
    await startCaRotation(dir, MEMBERS);
    const certs = await expectTskvError(startCertRotation(dir, MEMBERS));
    assert.match(certs.message, /a CA rotation is in progress/);
    assert.match(certs.fix!, /--ca$/);
  });
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, lstat, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { ensurePki, inspectCert, issueCa, type PkiResult } from '../../../../controller/pki/index.ts';
import { withPkiLock } from '../../../../controller/pki/lock.ts';
import { expectTskvError } from '../../../fixtures/expect-tskv-error.ts';
import { DAY_MS, H1, H2, tempDir } from './pki-fixture.ts';

const MEMBERS = [H1, H2];

/** Every file under `dir` (but the lock), by path relative to it, with its bytes. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(relative(dir, path), await readFile(path, 'utf8'));
  }
  return files;
}

const changed = (r: PkiResult) => r.changes.map((c) => `${c.action} ${c.file}`);

function changedBetween(before: Map<string, string>, after: Map<string, string>): string[] {
  return [...after.keys()].filter((k) => before.get(k) !== after.get(k)).sort();
}

const modeOf = async (path: string) => (await lstat(path)).mode & 0o777;

describe('ensurePki: the first run', async () => {
  const dir = join(await tempDir(), 'pki');
  const result = await ensurePki(dir, MEMBERS);

  test('creates the CA, the client identity and each member’s server and peer pairs', () => {
    assert.deepEqual(changed(result), [
      'created ca.crt',
      'created ca.crl',
      'created client.crt',
      'created members/h1/server.crt',
      'created members/h1/peer.crt',
      'created members/h2/server.crt',
      'created members/h2/peer.crt',
    ]);
    assert.deepEqual(result.warnings, []);
  });

  test('directories 0700, keys 0600, certificates 0644, whatever the umask', async () => {
    assert.equal(await modeOf(dir), 0o700);
    assert.equal(await modeOf(join(dir, 'members')), 0o700);
    for (const m of ['h1', 'h2']) assert.equal(await modeOf(join(dir, 'members', m)), 0o700);
    const files = await snapshot(dir);
    assert.equal(files.size, 13);
    for (const name of files.keys()) {
      assert.equal(await modeOf(join(dir, name)), name.endsWith('.key') ? 0o600 : 0o644, name);
    }
  });

  test('leaves no lock or temporary file behind', async () => {
    const all = await readdir(dir, { recursive: true });
    assert.deepEqual(
      all.filter((n) => n.includes('.lock') || n.includes('.tskv-')),
      [],
    );
  });

  test('each member certificate names its member', async () => {
    const server = inspectCert(await readFile(join(dir, 'members/h2/server.crt'), 'utf8'));
    assert.deepEqual(server.sans, { ips: ['192.0.2.12', '127.0.0.1'], dns: ['h2', 'localhost'] });
  });
});

describe('ensurePki: later runs', () => {
  test('with the same members: nothing created, every file byte-identical', async () => {
    const dir = await tempDir();
    await ensurePki(dir, MEMBERS);
    const before = await snapshot(dir);
    const again = await ensurePki(dir, MEMBERS);
    assert.deepEqual(again.changes, []);
    assert.deepEqual(await snapshot(dir), before);
  });

  test('a member that moved to another address: only its two pairs are renewed, the CA kept', async () => {
    const dir = await tempDir();
    await ensurePki(dir, MEMBERS);
    const before = await snapshot(dir);
    const moved = { ...H1, address: '192.0.2.99' };
    const result = await ensurePki(dir, [moved, H2]);
    assert.deepEqual(changed(result), ['renewed members/h1/server.crt', 'renewed members/h1/peer.crt']);
    assert.match(result.changes[0]!.reason, /SANs do not match h1 at 192\.0\.2\.99/);
    assert.deepEqual(changedBetween(before, await snapshot(dir)), [
      'members/h1/peer.crt',
      'members/h1/peer.key',
      'members/h1/server.crt',
      'members/h1/server.key',
    ]);
    const server = inspectCert(await readFile(join(dir, 'members/h1/server.crt'), 'utf8'));
    assert.ok(server.sans.ips.includes('192.0.2.99'));
    assert.ok(!server.sans.ips.includes('192.0.2.11'));
    assert.deepEqual((await ensurePki(dir, [moved, H2])).changes, []);
  });

  test('a new member gets its pairs; nothing else changes', async () => {
    const dir = await tempDir();
    await ensurePki(dir, [H1]);
    const result = await ensurePki(dir, MEMBERS);
    assert.deepEqual(changed(result), ['created members/h2/server.crt', 'created members/h2/peer.crt']);
  });

  test('30 days before they expire, client and member certificates are renewed; the CA is kept', async () => {
    const dir = await tempDir();
    const issued = new Date();
    await ensurePki(dir, MEMBERS, issued);
    const before = await snapshot(dir);
    const at = (days: number) => new Date(issued.getTime() + days * DAY_MS);
    assert.deepEqual((await ensurePki(dir, MEMBERS, at(330))).changes, [], '35 days left: kept');
    const result = await ensurePki(dir, MEMBERS, at(340));
    assert.deepEqual(changed(result), [
      'renewed client.crt',
      'renewed members/h1/server.crt',
      'renewed members/h1/peer.crt',
      'renewed members/h2/server.crt',
      'renewed members/h2/peer.crt',
    ]);
    assert.match(result.changes[0]!.reason, /expires in 24 days/);
    const after = await snapshot(dir);
    assert.equal(after.get('ca.crt'), before.get('ca.crt'));
    assert.equal(after.get('ca.key'), before.get('ca.key'));
    const renewed = inspectCert(after.get('members/h1/server.crt')!);
    assert.ok(renewed.notAfter.getTime() > at(700).getTime());
  });

  test('an expired client certificate (no deploy for a year) is renewed alone when no member is asked for', async () => {
    const dir = await tempDir();
    const issued = new Date();
    await ensurePki(dir, [], issued);
    const later = new Date(issued.getTime() + 400 * DAY_MS);
    const result = await ensurePki(dir, [], later);
    assert.deepEqual(changed(result), ['renewed client.crt']);
    assert.match(result.changes[0]!.reason, /expired/);
    const renewed = inspectCert((await snapshot(dir)).get('client.crt')!);
    assert.ok(renewed.notAfter.getTime() > later.getTime() + 300 * DAY_MS);
  });

  test('a missing key, a damaged certificate or a mismatched pair is issued again', async () => {
    const dir = await tempDir();
    await ensurePki(dir, MEMBERS);
    await rm(join(dir, 'members/h1/peer.key'));
    await writeFile(join(dir, 'members/h2/server.crt'), 'garbage\n');
    await writeFile(join(dir, 'client.key'), await readFile(join(dir, 'members/h1/server.key')), {
      mode: 0o600,
    });
    const result = await ensurePki(dir, MEMBERS);
    assert.deepEqual(
      result.changes.map((c) => `${c.file}: ${c.reason}`),
      [
        "client.crt: the private key is not the certificate's: it belongs to another certificate",
        'members/h1/peer.crt: members/h1/peer.key is missing',
        'members/h2/server.crt: the certificate holds no PEM certificate (-----BEGIN CERTIFICATE-----)',
      ],
    );
    assert.deepEqual((await ensurePki(dir, MEMBERS)).changes, []);
  });

  test('certificates of another CA are issued again under this one', async () => {
    const dir = await tempDir();
    await ensurePki(dir, MEMBERS);
    const other = await tempDir();
    await ensurePki(other, MEMBERS);
    await writeFile(join(dir, 'members/h1/peer.crt'), await readFile(join(other, 'members/h1/peer.crt')));
    await writeFile(join(dir, 'members/h1/peer.key'), await readFile(join(other, 'members/h1/peer.key')));
    const result = await ensurePki(dir, MEMBERS);
    assert.deepEqual(changed(result), ['renewed members/h1/peer.crt']);
    assert.match(result.changes[0]!.reason, /not issued by the CA/);
  });

  test('a ca.key without its ca.crt (a first run cut short) keeps the key and makes the certificate', async () => {
    const dir = await tempDir();
    await ensurePki(dir, MEMBERS);
    const key = await readFile(join(dir, 'ca.key'), 'utf8');
    await rm(join(dir, 'ca.crt'));
    const result = await ensurePki(dir, MEMBERS);
    assert.equal(result.changes[0]!.file, 'ca.crt');
    assert.equal(await readFile(join(dir, 'ca.key'), 'utf8'), key);
    assert.deepEqual(
      changed(result).slice(1, 2),
      ['renewed ca.crl'],
      "the list of the CA's old certificate goes with it",
    );
    assert.equal(result.changes.length, 7, 'every leaf names the old CA certificate and is issued again');
  });
});

describe('ensurePki: two at once', () => {
  test('in one process: one CA, and the second creates nothing', async () => {
    const dir = await tempDir();
    const results = await Promise.all([ensurePki(dir, MEMBERS), ensurePki(dir, MEMBERS)]);
    const cas = results.filter((r) => r.changes.some((c) => c.file === 'ca.crt'));
    assert.equal(cas.length, 1);
    assert.deepEqual(results.map((r) => r.changes.length).sort(), [0, 7]);
  });

  test('in two processes: one CA', async () => {
    const dir = await tempDir();
    const script = `
      import { ensurePki } from ${JSON.stringify(new URL('../../../../controller/pki/index.ts', import.meta.url).href)};
      const r = await ensurePki(process.argv[1], ${JSON.stringify(MEMBERS)});
      console.log(JSON.stringify(r.changes.map((c) => c.file)));
    `;
    const run = () =>
      new Promise<string[]>((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], { stdio: 'pipe' });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(err))));
      });
    const [a, b] = await Promise.all([run(), run()]);
    assert.equal([...a, ...b].filter((c) => c === 'ca.crt').length, 1, `${a} / ${b}`);
    assert.deepEqual([a.length, b.length].sort(), [0, 7]);
  });
});

describe('ensurePki: what it refuses', () => {
  test('a ca.key that is not the key of ca.crt: a clear error naming both, nothing written', async () => {
    const dir = await tempDir();
    await ensurePki(dir, MEMBERS);
    await writeFile(join(dir, 'ca.key'), (await issueCa()).keyPem);
    const before = await snapshot(dir);
    const err = await expectTskvError(ensurePki(dir, MEMBERS));
    assert.equal(err.code, 'E_INPUT');
    assert.equal(
      err.message,
      `${join(dir, 'ca.key')} does not match ${join(dir, 'ca.crt')}: it is not the key of that CA certificate`,
    );
    assert.match(err.fix!, /restore ca\.crt and ca\.key from a backup; tskv never replaces a CA key/);
    assert.deepEqual(await snapshot(dir), before);
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith('.')),
      [],
      'the lock is released',
    );
  });

  test('a ca.key that is no key', async () => {
    const dir = await tempDir();
    await ensurePki(dir, MEMBERS);
    await writeFile(join(dir, 'ca.key'), 'junk');
    const err = await expectTskvError(ensurePki(dir, MEMBERS));
    assert.match(err.message, /ca\.key cannot be used as the CA key/);
  });

  test('a ca.crt whose key is gone is never replaced by a new CA', async () => {
    const dir = await tempDir();
    await ensurePki(dir, MEMBERS);
    const cert = await readFile(join(dir, 'ca.crt'), 'utf8');
    await rm(join(dir, 'ca.key'));
    const err = await expectTskvError(ensurePki(dir, MEMBERS));
    assert.match(err.message, /ca\.crt has no key beside it/);
    assert.match(err.fix!, /move .* aside/);
    assert.equal(await readFile(join(dir, 'ca.crt'), 'utf8'), cert);
  });

  test('a key readable by others, a certificate others can write, a directory open to others', async () => {
    const dir = await tempDir();
    await ensurePki(dir, MEMBERS);
    const key = join(dir, 'members/h1/server.key');
    await chmod(key, 0o640);
    let err = await expectTskvError(ensurePki(dir, MEMBERS));
    assert.equal(err.message, `${key} is a private key readable by group or others (mode 0640)`);
    assert.equal(err.fix, `chmod 600 ${key} (and consider the key exposed)`);
    await chmod(key, 0o600);
    await chmod(join(dir, 'ca.crt'), 0o666);
    err = await expectTskvError(ensurePki(dir, MEMBERS));
    assert.match(err.message, /ca\.crt is a certificate writable by group or others \(mode 0666\)/);
    await chmod(join(dir, 'ca.crt'), 0o644);
    await chmod(dir, 0o755);
    err = await expectTskvError(ensurePki(dir, MEMBERS));
    assert.match(err.message, /is open to group or others \(mode 0755\)/);
    assert.equal(err.fix, `chmod 700 ${dir}`);
  });

  test('a key behind a symlink', async () => {
    const dir = await tempDir();
    await ensurePki(dir, MEMBERS);
    await rm(join(dir, 'client.key'));
    await symlink(join(dir, 'ca.key'), join(dir, 'client.key'));
    const err = await expectTskvError(ensurePki(dir, MEMBERS));
    assert.match(err.message, /cannot read .*client\.key: .*symlink/);
  });

  test('a member name that would leave its folder', async () => {
    const dir = await tempDir();
    const err = await expectTskvError(ensurePki(dir, [{ name: '..', address: '192.0.2.1' }]));
    assert.match(err.message, /cannot name a folder/);
  });
});

describe('the PKI lock', () => {
  test('a lock left by a process that is gone is taken over', async () => {
    const dir = await tempDir();
    const dead = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => dead.on('close', resolve));
    await writeFile(join(dir, '.lock'), JSON.stringify({ pid: dead.pid, host: hostname(), nonce: 'x' }));
    assert.equal(await withPkiLock(dir, async () => 'ran', { timeoutMs: 2000 }), 'ran');
  });

  test('a lock whose pid now belongs to another process (started at another time) is taken over', async () => {
    const dir = await tempDir();
    // This very process, as if started at another time: the holder's pid was reused.
    const owner = { pid: process.pid, host: hostname(), nonce: 'x', startTime: 1 };
    await writeFile(join(dir, '.lock'), JSON.stringify(owner));
    assert.equal(await withPkiLock(dir, async () => 'ran', { timeoutMs: 2000 }), 'ran');
    // Its real start time: alive, waited for.
    const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    const startTime = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    await writeFile(join(dir, '.lock'), JSON.stringify({ ...owner, startTime }));
    const err = await expectTskvError(withPkiLock(dir, async () => 'ran', { timeoutMs: 200 }));
    assert.equal(err.code, 'E_LOCKED');
  });

  test('a live holder is waited for, then E_LOCKED naming it', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, '.lock'), JSON.stringify({ pid: process.pid, host: 'elsewhere', nonce: 'x' }));
    const err = await expectTskvError(withPkiLock(dir, async () => 'ran', { timeoutMs: 200 }));
    assert.equal(err.code, 'E_LOCKED');
    assert.match(err.message, new RegExp(`locked by process ${process.pid} on elsewhere`));
    assert.match(err.fix!, /remove .*\.lock/);
  });

  test('is released when the work fails', async () => {
    const dir = await tempDir();
    await assert.rejects(
      withPkiLock(dir, async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual(await readdir(dir), []);
  });
});

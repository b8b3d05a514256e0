import assert from 'node:assert/strict';
import {
  chownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { makeFileRead, makeFileWrite } from '../../../../agent/handlers/files.ts';
import { envFileProblem } from '../../../../agent/policy/files.ts';
import { layoutUnder } from '../../../../agent/policy/layout.ts';
import { ownerName } from '../../../../agent/system/accounts.ts';

const ctx = { buildId: 'test' };

describe('files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-files-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const layout = layoutUnder(dir);
  const fileRead = makeFileRead(layout);
  const fileWrite = makeFileWrite(layout);
  const path = layout.envFile;

  test('write creates parents (0755) and the file with its mode; again: no change', async () => {
    assert.deepEqual(await fileRead({ path }, ctx), { exists: false, content: '', mode: null, owner: null });
    const r = await fileWrite({ path, content: 'ETCD_A=1\nETCD_B=2\n', mode: 0o600 }, ctx);
    assert.equal(r.changed, true);
    assert.deepEqual(r.actions, [`create ${path} (0600)`]);
    assert.equal(r.diff, `--- ${path}\n+++ ${path}\n@@ -0,0 +1,2 @@\n+ETCD_A=1\n+ETCD_B=2\n`);
    assert.equal(readFileSync(path, 'utf8'), 'ETCD_A=1\nETCD_B=2\n');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(layout.configDir).mode & 0o777, 0o755);
    const again = await fileWrite({ path, content: 'ETCD_A=1\nETCD_B=2\n', mode: 0o600 }, ctx);
    assert.deepEqual(again, { changed: false, actions: [], diff: '' });
    assert.deepEqual(readdirSync(layout.configDir), ['etcd.env'], 'no temporary file left');
  });

  test('a changed line: unified diff', async () => {
    const r = await fileWrite({ path, content: 'ETCD_A=1\nETCD_B=3\n', mode: 0o600 }, ctx);
    assert.equal(r.diff, `--- ${path}\n+++ ${path}\n@@ -1,2 +1,2 @@\n ETCD_A=1\n-ETCD_B=2\n+ETCD_B=3\n`);
    assert.deepEqual(r.actions, [`update ${path}`]);
    assert.equal((await fileRead({ path }, ctx)).content, 'ETCD_A=1\nETCD_B=3\n');
  });

  test('only the mode differs: changed in place (same file, same modification time), empty diff', async () => {
    const before = statSync(path);
    const r = await fileWrite({ path, content: 'ETCD_A=1\nETCD_B=3\n', mode: 0o644 }, ctx);
    assert.deepEqual(r, { changed: true, actions: [`chmod 0644 ${path} (was 0600)`], diff: '' });
    assert.equal(statSync(path).mode & 0o777, 0o644);
    assert.deepEqual([statSync(path).ino, statSync(path).mtimeMs], [before.ino, before.mtimeMs]);
  });

  test("group etcd: the account is made first, the file is root's and the group's; again: no change", async () => {
    const asRoot = process.getuid?.() === 0;
    // Another group than the file's when root can give one; else the test's own (nothing to change).
    const gid = asRoot ? 65534 : (process.getgid?.() ?? 0);
    let made = false;
    const write = makeFileWrite(layout, async (create) => {
      const actions = made ? [] : ['create system user etcd (fake)'];
      if (create) made = true;
      return { account: { user: 'etcd', uid: 65534, gid }, actions };
    });
    const content = 'ETCD_A=1\nETCD_B=3\n';
    const r = await write({ path, content, mode: 0o640, group: 'etcd' }, ctx);
    assert.equal(r.changed, true);
    assert.deepEqual(r.actions.slice(0, 2), [
      'create system user etcd (fake)',
      `chmod 0640 ${path} (was 0644)`,
    ]);
    if (asRoot) assert.match(r.actions[2] ?? '', new RegExp(`^chgrp etcd ${path} \\(was \\w+\\)$`));
    assert.equal(r.diff, '', 'the content is the same');
    assert.equal(statSync(path).gid, gid);
    assert.equal(statSync(path).uid, process.getuid?.() ?? 0);
    assert.equal(statSync(path).mode & 0o777, 0o640);
    assert.deepEqual(await write({ path, content, mode: 0o640, group: 'etcd' }, ctx), {
      changed: false,
      actions: [],
      diff: '',
    });
    // A new content keeps the group: the temporary file had it before it took the file's place.
    const next = await write({ path, content: 'ETCD_A=2\n', mode: 0o640, group: 'etcd' }, ctx);
    assert.deepEqual(next.actions, [`update ${path}`]);
    assert.equal(statSync(path).gid, gid);
  });

  test("a file given a group but owned by another user (etcd, say) becomes root's again; again: no change", {
    skip: process.getuid?.() === 0 ? false : 'needs root to chown',
  }, async () => {
    const account = async () => ({ account: { user: 'etcd', uid: 65534, gid: 65534 }, actions: [] });
    const write = makeFileWrite(layout, account);
    const content = 'ETCD_A=3\n';
    await write({ path, content, mode: 0o640, group: 'etcd' }, ctx);
    chownSync(path, 65534, 65534);
    const r = await write({ path, content, mode: 0o640, group: 'etcd' }, ctx);
    assert.equal(r.changed, true);
    assert.match(r.actions.join('\n'), new RegExp(`^chown root:etcd ${path} \\(was \\w+:\\w+\\)$`));
    assert.deepEqual([statSync(path).uid, statSync(path).gid], [0, 65534]);
    assert.equal((await write({ path, content, mode: 0o640, group: 'etcd' }, ctx)).changed, false);
  });

  test('TLS material under the config folder: any content, never a diff, only 0640 or narrower to group etcd', async () => {
    const gid = process.getgid?.() ?? 0;
    const write = makeFileWrite(layout, async () => ({
      account: { user: 'etcd', uid: 65534, gid },
      actions: [],
    }));
    const key = join(layout.configDir, 'pki/server.key');
    const r = await write(
      { path: key, content: 'LD_PRELOAD is just text here\n', mode: 0o640, group: 'etcd' },
      ctx,
    );
    assert.equal(r.changed, true);
    assert.equal(r.diff, '', 'TLS material is never shown, not even as a diff');
    assert.equal((await fileRead({ path: key }, ctx)).content, 'LD_PRELOAD is just text here\n');
    const again = await write({ path: key, content: 'a private key\n', mode: 0o600, group: 'etcd' }, ctx);
    assert.deepEqual([again.changed, again.diff], [true, '']);
    for (const wrong of [
      { mode: 0o644, group: 'etcd' as const },
      { mode: 0o660, group: 'etcd' as const },
      { mode: 0o600 },
    ]) {
      await assert.rejects(write({ path: key, content: 'x\n', ...wrong }, ctx), {
        code: 'E_AGENT_REFUSED',
        message: /is TLS material: only mode 0640 or narrower, group etcd/,
      });
    }
    assert.equal((await fileRead({ path: key }, ctx)).content, 'a private key\n');
  });

  test('the TLS folder holds only the files tskv places there', async () => {
    const write = makeFileWrite(layout, async () => ({
      account: { user: 'etcd', uid: 65534, gid: process.getgid?.() ?? 0 },
      actions: [],
    }));
    for (const name of ['pki/member.key', 'pki/sub/server.key']) {
      await assert.rejects(
        write({ path: join(layout.configDir, name), content: 'x\n', mode: 0o640, group: 'etcd' }, ctx),
        {
          code: 'E_AGENT_REFUSED',
          message: /only ca\.crt, server\.crt, server\.key, peer\.crt, peer\.key, crl\.der, not /,
        },
      );
    }
  });

  test('a binary file travels as base64: written as its bytes, read back the same, only canonical base64', async () => {
    const write = makeFileWrite(layout, async () => ({
      account: { user: 'etcd', uid: 65534, gid: process.getgid?.() ?? 0 },
      actions: [],
    }));
    const crl = join(layout.configDir, 'pki/crl.der');
    const bytes = Buffer.from([0x30, 0x82, 0x00, 0xff, 0xfe, 0x0a]);
    const content = bytes.toString('base64');
    const request = { path: crl, content, encoding: 'base64' as const, mode: 0o640, group: 'etcd' as const };
    const r = await write(request, ctx);
    assert.deepEqual([r.changed, r.diff], [true, '']);
    assert.deepEqual(readFileSync(crl), bytes);
    assert.equal((await fileRead({ path: crl, encoding: 'base64' }, ctx)).content, content);
    assert.equal((await write(request, ctx)).changed, false, 'the same bytes: no change');
    await assert.rejects(write({ ...request, content: `${content}\n` }, ctx), {
      code: 'E_AGENT_BAD_REQUEST',
      message: /not canonical base64/,
    });
  });

  test('the unit file, /var/lib/tskv and /run/tskv are read', async () => {
    for (const file of [
      layout.unitFile,
      join(layout.libDir, 'x'),
      join(layout.runDir, 'etcd-supervisor.json'),
    ]) {
      mkdirSync(join(file, '..'), { recursive: true, mode: 0o755 });
      writeFileSync(file, 'seen\n', { mode: 0o640 });
      assert.deepEqual(await fileRead({ path: file }, ctx), {
        exists: true,
        content: 'seen\n',
        mode: 0o640,
        owner: await ownerName(process.getuid?.() ?? 0, process.getgid?.() ?? 0),
      });
    }
  });

  test('a directory in the way: a clear error', async () => {
    mkdirSync(join(layout.configDir, 'a-folder'));
    await assert.rejects(
      fileWrite({ path: join(layout.configDir, 'a-folder'), content: 'x', mode: 0o644 }, ctx),
      {
        code: 'E_AGENT_BAD_REQUEST',
        message: /is not a regular file/,
      },
    );
  });

  test('a file over 1 MiB is not read', async () => {
    const big = join(layout.libDir, 'big');
    writeFileSync(big, Buffer.alloc(1024 * 1024 + 1));
    await assert.rejects(fileRead({ path: big }, ctx), {
      code: 'E_AGENT_BAD_REQUEST',
      message: /is over 1048576 bytes/,
    });
  });
});

test('envFileProblem: ETCD_* assignments, comments and blank lines only', () => {
  assert.equal(envFileProblem('# tskv\n\nETCD_NAME="h1"\n; also a comment\nETCD_X_2=a b\n'), undefined);
  assert.match(
    envFileProblem('ETCD_NAME=h1\nLD_PRELOAD=/tmp/x.so\n') ?? '',
    /^line 2 is not ETCD_NAME=value/,
  );
  assert.match(envFileProblem(' LD_PRELOAD=/tmp/x.so\n') ?? '', /^line 1 is not/);
  assert.match(envFileProblem('etcd_name=h1\n') ?? '', /^line 1 is not/);
  assert.match(
    envFileProblem('ETCD_NAME=h1\rLD_PRELOAD=/tmp/x.so\n') ?? '',
    /^line 1 has a control character/,
  );
  assert.equal(envFileProblem('ETCD_NAME=h1\tx\n'), undefined);
});

import { ETCD_GROUP, type FileEncoding, type routes, unifiedDiff } from '../api/index.ts';
import { AgentError, refused } from '../errors.ts';
import { checkReadable, checkWritable, isTlsMaterial, MAX_FILE_BYTES } from '../policy/files.ts';
import { HOST_LAYOUT, type HostLayout } from '../policy/layout.ts';
import { ownerName } from '../system/accounts.ts';
import { readFileNoFollow, setFileAccess, writeFileAtomic } from '../system/atomic-file.ts';
import { type EnsureEtcdAccount, ensureEtcdAccount } from './etcd-account.ts';
import type { Handler } from './types.ts';

const octal = (mode: number) => `0${mode.toString(8)}`;

async function current(path: string, encoding: FileEncoding | undefined) {
  try {
    return await readFileNoFollow(path, MAX_FILE_BYTES, encoding ?? 'utf8');
  } catch (err) {
    throw new AgentError('E_AGENT_BAD_REQUEST', err instanceof Error ? err.message : String(err), 400);
  }
}

/**
 * The bytes of base64 `content`, refused unless it is written as Node writes it: compared with the
 * file read back as base64, any other spelling of the same bytes would look like a change.
 */
function canonicalBase64(content: string): Buffer {
  const bytes = Buffer.from(content, 'base64');
  if (bytes.toString('base64') !== content) {
    throw new AgentError('E_AGENT_BAD_REQUEST', 'content is not canonical base64 (encoding: base64)', 400);
  }
  return bytes;
}

/** Read one of tskv's files (policy/files.ts says which). `layout` is for tests. */
export function makeFileRead(layout: HostLayout = HOST_LAYOUT): Handler<typeof routes.fileRead> {
  return async ({ path, encoding }) => {
    await checkReadable(layout, path);
    const file = await current(path, encoding);
    return {
      exists: file.exists,
      content: file.content,
      mode: file.mode,
      owner: file.uid === null || file.gid === null ? null : await ownerName(file.uid, file.gid),
    };
  };
}

/**
 * Write one of tskv's files (policy/files.ts says which) atomically when its content, mode or
 * (when asked) group differs; the reply carries a unified diff. Group `etcd` first makes the etcd
 * account where it is missing. `layout` and `account` are for tests.
 */
export function makeFileWrite(
  layout: HostLayout = HOST_LAYOUT,
  account: EnsureEtcdAccount = ensureEtcdAccount,
): Handler<typeof routes.fileWrite> {
  return async ({ path, content, encoding, mode, group }) => {
    await checkWritable(layout, path, content);
    const binary = encoding === 'base64';
    const bytes = binary ? canonicalBase64(content) : content;
    const tlsMaterial = isTlsMaterial(layout, path);
    // TLS material (private keys) is root's and etcd's alone, whatever the caller asks.
    if (tlsMaterial && (group !== ETCD_GROUP || (mode & 0o037) !== 0)) {
      throw refused(`${path} is TLS material: only mode 0640 or narrower, group ${ETCD_GROUP}`);
    }
    const file = await current(path, encoding);
    const actions: string[] = [];
    let gid: number | undefined;
    if (group !== undefined) {
      const made = await account(true);
      actions.push(...made.actions);
      gid = made.account?.gid;
    }
    const contentChanged = !file.exists || file.content !== content;
    const modeChanged = file.mode !== mode;
    // A file given a group is root's (the agent's user): etcd may read it, never change it.
    const owner = process.geteuid?.() ?? 0;
    const groupChanged = gid !== undefined && (file.gid !== gid || file.uid !== owner);
    if (!contentChanged && !modeChanged && !groupChanged)
      return { changed: actions.length > 0, actions, diff: '' };
    if (!file.exists) actions.push(`create ${path} (${octal(mode)}${group ? `, group ${ETCD_GROUP}` : ''})`);
    else if (contentChanged) actions.push(`update ${path}`);
    if (file.exists && modeChanged)
      actions.push(`chmod ${octal(mode)} ${path} (was ${octal(file.mode ?? 0)})`);
    if (file.exists && groupChanged) {
      const was = await ownerName(file.uid ?? 0, file.gid ?? 0);
      actions.push(
        file.uid === owner
          ? `chgrp ${ETCD_GROUP} ${path} (was ${was.split(':')[1]})`
          : `chown ${(await ownerName(owner, gid!)).split(':')[0]}:${ETCD_GROUP} ${path} (was ${was})`,
      );
    }
    // The same content: mode and group change in place, and the file keeps its modification time.
    if (contentChanged) await writeFileAtomic(path, bytes, mode, gid);
    else await setFileAccess(path, mode, gid);
    return {
      changed: true,
      actions,
      // TLS material (private keys among it) is never shown, not even as a diff.
      diff: contentChanged && !tlsMaterial && !binary ? unifiedDiff(file.content, content, path) : '',
    };
  };
}

export const fileRead = makeFileRead();
export const fileWrite = makeFileWrite();

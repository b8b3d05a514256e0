import { type routes, unifiedDiff } from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { checkReadable, checkWritable, MAX_FILE_BYTES } from '../policy/files.ts';
import { HOST_LAYOUT, type HostLayout } from '../policy/layout.ts';
import { readFileNoFollow, writeFileAtomic } from '../system/atomic-file.ts';
import type { Handler } from './types.ts';

const octal = (mode: number) => `0${mode.toString(8)}`;

async function current(path: string) {
  try {
    return await readFileNoFollow(path, MAX_FILE_BYTES);
  } catch (err) {
    throw new AgentError('E_AGENT_BAD_REQUEST', err instanceof Error ? err.message : String(err), 400);
  }
}

/** Read one of tskv's files (policy/files.ts says which). `layout` is for tests. */
export function makeFileRead(layout: HostLayout = HOST_LAYOUT): Handler<typeof routes.fileRead> {
  return async ({ path }) => {
    await checkReadable(layout, path);
    const file = await current(path);
    return { exists: file.exists, content: file.content };
  };
}

/**
 * Write one of tskv's files (policy/files.ts says which) atomically when its content or mode
 * differs; the reply carries a unified diff. `layout` is for tests.
 */
export function makeFileWrite(layout: HostLayout = HOST_LAYOUT): Handler<typeof routes.fileWrite> {
  return async ({ path, content, mode }) => {
    await checkWritable(layout, path, content);
    const file = await current(path);
    const contentChanged = !file.exists || file.content !== content;
    const modeChanged = file.mode !== mode;
    if (!contentChanged && !modeChanged) return { changed: false, actions: [], diff: '' };
    const actions: string[] = [];
    if (!file.exists) actions.push(`create ${path} (${octal(mode)})`);
    else if (contentChanged) actions.push(`update ${path}`);
    if (file.exists && modeChanged)
      actions.push(`chmod ${octal(mode)} ${path} (was ${octal(file.mode ?? 0)})`);
    await writeFileAtomic(path, content, mode);
    return { changed: true, actions, diff: unifiedDiff(file.content, content, path) };
  };
}

export const fileRead = makeFileRead();
export const fileWrite = makeFileWrite();

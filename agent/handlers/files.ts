import { type routes, unifiedDiff } from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { readCurrentFile, writeFileAtomic } from '../system/atomic-file.ts';
import type { Handler } from './types.ts';

const octal = (mode: number) => `0${mode.toString(8)}`;

async function current(path: string) {
  try {
    return await readCurrentFile(path);
  } catch (err) {
    throw new AgentError('E_AGENT_BAD_REQUEST', err instanceof Error ? err.message : String(err), 400);
  }
}

export const fileRead: Handler<typeof routes.fileRead> = async ({ path }) => {
  const file = await current(path);
  return { exists: file.exists, content: file.content };
};

/** Write a file atomically when its content or mode differs; the reply carries a unified diff. */
export const fileWrite: Handler<typeof routes.fileWrite> = async ({ path, content, mode }) => {
  const file = await current(path);
  const contentChanged = !file.exists || file.content !== content;
  const modeChanged = file.mode !== mode;
  if (!contentChanged && !modeChanged) return { changed: false, actions: [], diff: '' };
  const actions: string[] = [];
  if (!file.exists) actions.push(`create ${path} (${octal(mode)})`);
  else if (contentChanged) actions.push(`update ${path}`);
  if (file.exists && modeChanged) actions.push(`chmod ${octal(mode)} ${path} (was ${octal(file.mode ?? 0)})`);
  await writeFileAtomic(path, content, mode);
  return { changed: true, actions, diff: unifiedDiff(file.content, content, path) };
};

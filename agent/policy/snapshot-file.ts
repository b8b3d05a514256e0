import { basename } from 'node:path';
import { SNAPSHOT_FILE_PATTERN } from '../api/index.ts';
import { AgentError, refused } from '../errors.ts';
import type { HostLayout } from './layout.ts';
import { checkSecurePath, lstatOrNull } from './secure-path.ts';

/**
 * Refuses a snapshot file that is not a regular *.db file directly in the snapshot folder (reached
 * as checkSecurePath says); 404 when it is not there.
 */
export async function checkSnapshotFile(layout: HostLayout, file: string, what: string): Promise<void> {
  const dir = layout.snapshotDir;
  const name = basename(file);
  if (file !== `${dir}/${name}` || !SNAPSHOT_FILE_PATTERN.test(name)) {
    throw refused(`${what} only a *.db file directly in ${dir}, not ${file}`);
  }
  await checkSecurePath(dir, file, what);
  const info = await lstatOrNull(file);
  if (info === null) throw new AgentError('E_AGENT_NOT_FOUND', `${file} is not on this host`, 404);
  if (!info.isFile()) throw refused(`${what} only regular files: ${file} is not one`);
}

/**
 * A member rebuilt from a snapshot file the controller uploaded: the file's status, the room where
 * it and the restored data go, and the restore into a data dir that holds nothing (moved aside first).
 */
import { mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import type { routes } from '../api/index.ts';
import { AgentError, refused } from '../errors.ts';
import { checkEtcdDir, ownedDirProblem } from '../policy/data-dir.ts';
import { HOST_LAYOUT, type HostLayout } from '../policy/layout.ts';
import { checkSnapshotFile } from '../policy/snapshot-file.ts';
import { diskSpace } from '../system/disk.ts';
import { etcdProcessesUsing } from '../system/etcd-data-dir.ts';
import { readEtcdEnv } from '../system/etcd-local.ts';
import {
  snapshotRestore as restore,
  type SnapshotTool,
  snapshotTool,
  snapshotStatus as status,
} from '../system/etcd-snapshot-tool.ts';
import type { Handler } from './types.ts';

/** Where a restore writes first, inside the data dir (so on its file system, a mount point too). */
const RESTORING = '.tskv-restoring';

async function toolOn(layout: HostLayout): Promise<SnapshotTool> {
  const tool = await snapshotTool(layout.binDir);
  if (!tool) {
    throw new AgentError(
      'E_AGENT_NOT_FOUND',
      `neither etcdutl nor etcdctl is in ${layout.binDir}: install etcd first (tskv deploy)`,
      404,
    );
  }
  return tool;
}

function commandFailed(err: unknown): AgentError {
  return new AgentError('E_AGENT_COMMAND_FAILED', err instanceof Error ? err.message : String(err));
}

export function makeSnapshotStatus(layout: HostLayout = HOST_LAYOUT): Handler<typeof routes.snapshotStatus> {
  return async ({ file }) => {
    await checkSnapshotFile(layout, file, 'snapshot status reads');
    const tool = await toolOn(layout);
    try {
      return { ...(await status(tool, file)), tool: tool.name };
    } catch (err) {
      throw commandFailed(err);
    }
  };
}

/** Free space where tskv writes: its snapshot folder and this member's configured data dir only. */
export function makeDiskSpace(layout: HostLayout = HOST_LAYOUT): Handler<typeof routes.diskSpace> {
  return async ({ paths }) => {
    const env = await readEtcdEnv(layout.envFile, 'disk space is read for the member tskv configured here');
    const allowed = new Set([layout.snapshotDir, env['ETCD_DATA_DIR']]);
    const other = paths.find((p) => !allowed.has(p));
    if (other !== undefined)
      throw refused(
        `disk space is read only for ${[...allowed].filter(Boolean).join(' and ')}, not ${other}`,
      );
    return diskSpaceOf(paths);
  };
}

const diskSpaceOf = async (paths: string[]) => ({
  spaces: await Promise.all(
    paths.map(async (path) => {
      const space = await diskSpace(path);
      return {
        path,
        measuredAt: space.measuredAt,
        freeBytes: space.freeBytes,
        device: (await stat(space.measuredAt)).dev,
      };
    }),
  ),
});

/**
 * Restores into `dataDir`: refused unless it is missing or empty (its own file system's
 * lost+found aside) and no etcd uses it. etcd writes into a folder inside it, whose member/ is then
 * renamed into place: a restore cut short leaves no member/, and the next one starts over.
 */
export function makeSnapshotRestore(
  layout: HostLayout = HOST_LAYOUT,
): Handler<typeof routes.snapshotRestore> {
  return async (req) => {
    await checkSnapshotFile(layout, req.file, 'snapshot restore takes');
    // Only into the data dir this host's etcd is configured with, and never into a folder of the
    // system's or tskv's own: checked before anything inside it is removed.
    const env = await readEtcdEnv(layout.envFile, 'restore needs the member tskv configured here');
    if (env['ETCD_DATA_DIR'] !== req.dataDir) {
      throw refused(
        `restore writes only into this member's configured data dir (${env['ETCD_DATA_DIR'] ?? 'none'}), not ${req.dataDir}`,
      );
    }
    const owned = ownedDirProblem(req.dataDir, layout);
    if (owned) throw refused(owned);
    const tool = await toolOn(layout);
    const scratch = `${req.dataDir}/${RESTORING}`;
    // A restore cut short leaves only this folder of tskv's own behind.
    if ((await stat(req.dataDir).catch(() => null))?.isDirectory())
      await rm(scratch, { recursive: true, force: true });
    const found = await checkEtcdDir(req.dataDir, 'data', layout);
    if (found.kind === 'etcd') {
      throw refused(`${req.dataDir} holds member data: move it aside before restoring into it`);
    }
    const users = await etcdProcessesUsing(req.dataDir);
    if (users.length > 0) {
      throw new AgentError(
        'E_AGENT_BAD_REQUEST',
        `etcd (pid ${users.join(', ')}) is running with ${req.dataDir}: stop it first`,
        409,
      );
    }
    const actions: string[] = [];
    if (found.kind === 'missing') {
      await mkdir(found.real, { recursive: true, mode: 0o700 });
      actions.push(`create ${req.dataDir}`);
    }
    try {
      await restore(tool, { ...req, dataDir: `${found.real}/${RESTORING}` });
      await rename(`${found.real}/${RESTORING}/member`, `${found.real}/member`);
      await rmdir(`${found.real}/${RESTORING}`);
    } catch (err) {
      await rm(`${found.real}/${RESTORING}`, { recursive: true, force: true }).catch(() => undefined);
      throw commandFailed(err);
    }
    actions.push(`restore ${req.name}'s data into ${req.dataDir} from ${req.file} (${tool.name})`);
    return { changed: true, actions };
  };
}

export const snapshotStatus = makeSnapshotStatus();
export const snapshotRestore = makeSnapshotRestore();
export const tskvDiskSpace = makeDiskSpace();

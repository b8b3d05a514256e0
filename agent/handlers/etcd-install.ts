import { join } from 'node:path';
import { etcdVersionDir, type routes } from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { checkTarball } from '../policy/etcd.ts';
import { etcdBinary, HOST_LAYOUT, type HostLayout } from '../policy/layout.ts';
import { ETCD_PROGRAMS, programsIn, unpackRelease, versionIn } from '../system/etcd-install.ts';
import { fileSha256 } from '../system/file-sha256.ts';
import { linkTarget, removeLink, swapSymlink } from '../system/symlink.ts';
import type { Handler } from './types.ts';

interface LinkChange {
  link: string;
  /** The new target, or null to remove a stale link of an older release. */
  target: string | null;
}

/** Links in binDir that do not point at versionDir's programs yet (and stale ones into root to remove). */
async function linkChanges(versionDir: string, root: string, binDir: string): Promise<LinkChange[]> {
  const present = await programsIn(versionDir);
  const changes: LinkChange[] = [];
  for (const name of ETCD_PROGRAMS) {
    const link = join(binDir, name);
    const current = await linkTarget(link);
    if (present.includes(name)) {
      const target = join(versionDir, name);
      if (current !== target) changes.push({ link, target });
    } else if (current?.startsWith(`${root}/`)) {
      changes.push({ link, target: null });
    }
  }
  return changes;
}

async function applyLink(change: LinkChange): Promise<void> {
  if (change.target) await swapSymlink(change.link, change.target);
  else await removeLink(change.link);
}

/** Points the links at versionDir's programs; the actions taken. */
async function linkVersion(
  versionDir: string,
  root: string,
  binDir: string,
  version: string,
): Promise<string[]> {
  const actions: string[] = [];
  for (const change of await linkChanges(versionDir, root, binDir)) {
    actions.push(
      change.target ? `link ${change.link} -> ${change.target}` : `remove ${change.link} (not in ${version})`,
    );
    await applyLink(change);
  }
  return actions;
}

/** Refuses a tarball that is missing or whose bytes do not hash to `sha256` (nothing is unpacked then). */
async function checkSha256(tarball: string, sha256: string): Promise<void> {
  const found = await fileSha256(tarball);
  if (found === undefined) {
    throw new AgentError('E_AGENT_NOT_FOUND', `etcd tarball ${tarball} is not on this host`, 404);
  }
  if (found !== sha256) {
    throw new AgentError(
      'E_AGENT_SHA256',
      `etcd tarball ${tarball} has sha256 ${found}, not the ${sha256} asked for: not unpacked (a damaged copy? a run again pushes it anew)`,
      409,
    );
  }
}

/**
 * Install etcd `version` from a tarball in the upload cache, once its bytes hash to `sha256`, into
 * `<installRoot>/v<version>` (atomically) and, unless `link` is false, point `<binDir>/{etcd,etcdctl,etcdutl}` at it. Nothing
 * changes when that version is there (and linked). `layout` is for tests.
 */
export function makeEtcdInstall(layout: HostLayout = HOST_LAYOUT): Handler<typeof routes.etcdInstall> {
  return async ({ tarball, sha256, version, link }) => {
    await checkTarball(layout, tarball, sha256);
    const root = layout.installRoot;
    const versionDir = etcdVersionDir(version, root);
    const actions: string[] = [];
    const installed = (await versionIn(versionDir)).version === version;
    if (!installed) {
      await checkSha256(tarball, sha256);
      actions.push(
        `install etcd ${version} from ${tarball} into ${versionDir}${link === false ? ' (not linked yet)' : ''}`,
      );
      try {
        await unpackRelease(tarball, root, version);
      } catch (err) {
        throw new AgentError('E_AGENT_COMMAND_FAILED', err instanceof Error ? err.message : String(err));
      }
    }
    if (link !== false) actions.push(...(await linkVersion(versionDir, root, layout.binDir, version)));
    return { changed: actions.length > 0, actions, binary: etcdBinary(layout) };
  };
}

/**
 * Point `<binDir>/{etcd,etcdctl,etcdutl}` at the installed `<installRoot>/v<version>` (a rolling
 * upgrade's switch, or its rollback). Refused when that version is not installed intact.
 */
export function makeEtcdLink(layout: HostLayout = HOST_LAYOUT): Handler<typeof routes.etcdLink> {
  return async ({ version }) => {
    const root = layout.installRoot;
    const versionDir = etcdVersionDir(version, root);
    const found = await versionIn(versionDir);
    if (found.version !== version) {
      throw new AgentError(
        'E_AGENT_NOT_FOUND',
        `etcd ${version} is not installed in ${versionDir}${found.problem ? ` (${found.problem})` : ''}`,
        404,
      );
    }
    const actions = await linkVersion(versionDir, root, layout.binDir, version);
    return { changed: actions.length > 0, actions, binary: etcdBinary(layout) };
  };
}

export const etcdInstall = makeEtcdInstall();
export const etcdLink = makeEtcdLink();

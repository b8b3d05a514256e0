/**
 * What has to be true before etcd starts as the etcd user: the account exists, and the data dir
 * (and WAL dir) its env file names exist as etcd:etcd 0700, reachable by etcd. Done only while
 * no etcd runs with them (the service handlers stop an etcd of another user first): a root etcd
 * writing new files while its folder changes hands would leave root's files behind.
 */
import { chmod, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ETCD_DATA_MODE, ETCD_GROUP, ETCD_USER, pathProblem, SYSTEM_DIRS } from '../api/index.ts';
import { AgentError, refused } from '../errors.ts';
import { checkEtcdDir, type EtcdDirKind, LOST_FOUND } from '../policy/data-dir.ts';
import type { HostLayout } from '../policy/layout.ts';
import { ownerName } from '../system/accounts.ts';
import { readEtcdEnv } from '../system/etcd-local.ts';
import { applyOwnership, makeOwnedDir, scanOwnership, searchable } from '../system/ownership.ts';
import { runCommand } from '../system/run.ts';
import { accountError, type EnsureEtcdAccount, type EtcdAccount } from './etcd-account.ts';

export interface EtcdRunPlan {
  /** Who etcd runs as. */
  account: EtcdAccount;
  /** What making the account did (empty when it existed). */
  made: string[];
  /** The folders' changes: done (applied) or to do (not applied); empty when all is in place. */
  changes: string[];
}

/**
 * Makes the account where it is missing (always: harmless while an older etcd runs, the account
 * owns nothing yet), then checks every folder, refusing before anything of theirs changes; with
 * `apply` it then changes them. So a caller that must stop etcd for the handover asks without
 * `apply` first: whatever can fail fails while etcd still runs.
 */
export type PrepareEtcdRun = (apply: boolean) => Promise<EtcdRunPlan>;

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/** The data dir and WAL dir the env file names (what etcd will run with). */
async function etcdDirs(envFile: string): Promise<{ path: string; kind: EtcdDirKind }[]> {
  const env = await readEtcdEnv(envFile, 'cannot start etcd');
  const data = env['ETCD_DATA_DIR'];
  if (data === undefined) {
    throw refused(
      `${envFile} names no ETCD_DATA_DIR: etcd would keep its data in its working folder, which the etcd user does not own`,
    );
  }
  const dirs: { path: string; kind: EtcdDirKind }[] = [{ path: data, kind: 'data' }];
  const wal = env['ETCD_WAL_DIR'];
  if (wal !== undefined && wal !== '') dirs.push({ path: wal, kind: 'wal' });
  for (const { path, kind } of dirs) {
    const problem = pathProblem(path);
    if (problem) throw refused(`${envFile}: ETCD_${kind.toUpperCase()}_DIR ${problem}`);
  }
  return dirs;
}

/**
 * The folders above `dir` that etcd cannot pass through: root's folders closed to others (what an
 * etcd running as root left when it made its data dir's parents, 0700) get o+x (passable, not
 * listable); anyone else's is refused.
 */
async function openAncestors(
  dir: string,
  account: EtcdAccount,
  apply: boolean,
  actions: string[],
): Promise<void> {
  const { uid, gid } = account;
  for (let at = dirname(dir); ; at = dirname(at)) {
    const info = await stat(at).catch(() => null); // a folder still to be made is made passable
    if (info && !searchable(info, uid, gid)) {
      const system = at === '/' || (SYSTEM_DIRS as readonly string[]).includes(at);
      if (info.uid !== 0 || system) {
        throw accountError(
          `it cannot reach ${dir}: ${at} (${octal(info.mode)}, ${await ownerName(info.uid, info.gid)}) is closed to it; open it (chmod o+x ${at}) or choose another data dir`,
        );
      }
      actions.push(`chmod o+x ${at} (was ${octal(info.mode)}): etcd passes through it to ${dir}`);
      if (apply) await chmod(at, (info.mode & 0o7777) | 0o001);
    }
    if (at === '/') return;
  }
}

/** One dir's changes: created, or handed over and given mode 0700. */
async function prepareDir(
  path: string,
  kind: EtcdDirKind,
  layout: HostLayout,
  account: EtcdAccount,
  apply: boolean,
  actions: string[],
): Promise<void> {
  const owner = `${ETCD_USER}:${ETCD_GROUP}`;
  const found = await checkEtcdDir(path, kind, layout);
  const { uid, gid } = account;
  if (found.kind === 'missing') {
    actions.push(`create ${path} (${owner} ${octal(ETCD_DATA_MODE)})`);
    if (apply) await makeOwnedDir(found.real, uid, gid, ETCD_DATA_MODE);
  } else {
    let scan: Awaited<ReturnType<typeof scanOwnership>>;
    try {
      scan = await scanOwnership(found.real, uid, gid, [LOST_FOUND]);
    } catch (err) {
      throw refused(`the agent hands ${path} to ${owner} only whole: ${(err as Error).message}`);
    }
    if (scan.paths.length > 0) {
      const was = await Promise.all(
        scan.owners.map((o) => {
          const [u, g] = o.split(':').map(Number);
          return ownerName(u ?? -1, g ?? -1);
        }),
      );
      actions.push(
        `hand ${path} to ${owner} (${scan.paths.length} ${scan.paths.length === 1 ? 'entry' : 'entries'} of ${was.join(', ')})`,
      );
      if (apply) await applyOwnership(scan.paths, uid, gid);
    }
    const mode = (await stat(found.real)).mode & 0o777;
    if (mode !== ETCD_DATA_MODE) {
      actions.push(`chmod ${octal(ETCD_DATA_MODE)} ${path} (was ${octal(mode)})`);
      if (apply) await chmod(found.real, ETCD_DATA_MODE);
    }
  }
  await openAncestors(found.real, account, apply, actions);
  if (apply) {
    // The last word is the kernel's, as etcd will meet it (ACLs, read-only mounts included).
    const r = await runCommand('test', ['-w', found.real, '-a', '-x', found.real], 5_000, account);
    if (r.code !== 0 && !r.notFound) {
      throw accountError(
        `it cannot write ${path} after it was handed over (test -w exits ${r.code ?? r.stderr})`,
      );
    }
  }
}

/** prepareEtcdRun for a layout (its env file) and a way to the account (tests give their own). */
export function makePrepareEtcdRun(layout: HostLayout, ensureAccount: EnsureEtcdAccount): PrepareEtcdRun {
  return async (apply) => {
    const dirs = await etcdDirs(layout.envFile);
    const { account, actions: made } = await ensureAccount(true);
    if (!account) throw new AgentError('E_AGENT_INTERNAL', 'the etcd account is missing after it was made');
    const pending: string[] = [];
    for (const { path, kind } of dirs) await prepareDir(path, kind, layout, account, false, pending);
    if (!apply || pending.length === 0) return { account, made, changes: pending };
    const done: string[] = [];
    for (const { path, kind } of dirs) await prepareDir(path, kind, layout, account, true, done);
    return { account, made, changes: done };
  };
}

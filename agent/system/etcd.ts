import { access, constants, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { ETCD_BINARY } from '../api/index.ts';
import { ownerName } from './accounts.ts';
import { runCommand } from './run.ts';

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The etcd binary to report: ETCD_BINARY, else the first on PATH. */
export async function findEtcdBinary(): Promise<string | null> {
  const pathDirs = (
    process.env['PATH'] || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  ).split(delimiter);
  const candidates = [ETCD_BINARY, ...pathDirs.map((d) => join(d, 'etcd'))];
  for (const c of candidates) {
    if (await isExecutable(c)) return c;
  }
  return null;
}

/** "3.5.17" from `etcd --version` ("etcd Version: 3.5.17\nGit SHA: ..."). */
export function parseEtcdVersion(text: string): string | null {
  return /etcd Version:\s*(\S+)/i.exec(text)?.[1] ?? null;
}

/** Versions already asked, by the file's identity: a resident agent asks each binary once. */
const knownVersions = new Map<string, string>();

export async function etcdVersion(binary: string): Promise<string> {
  const s = await stat(binary).catch(() => undefined);
  const identity = s && `${binary}\0${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  const known = identity && knownVersions.get(identity);
  if (known) return known;
  const r = await runCommand(binary, ['--version'], 5_000);
  const version = parseEtcdVersion(r.stdout + r.stderr);
  if (identity && version) knownVersions.set(identity, version);
  return version ?? 'unknown';
}

export interface DataDirState {
  exists: boolean;
  hasData: boolean;
  /** "user:group" (names, else numbers), null when there is no directory. */
  owner: string | null;
  mode: number | null;
}

/** Whether an etcd member was bootstrapped in `dir` (it holds `member/`), and whose `dir` is. */
export async function dataDirState(dir: string): Promise<DataDirState> {
  const dirStat = async (p: string) => {
    const s = await stat(p).catch(() => null);
    return s?.isDirectory() ? s : null;
  };
  const info = await dirStat(dir);
  if (!info) return { exists: false, hasData: false, owner: null, mode: null };
  return {
    exists: true,
    hasData: (await dirStat(join(dir, 'member'))) !== null,
    owner: await ownerName(info.uid, info.gid),
    mode: info.mode & 0o777,
  };
}

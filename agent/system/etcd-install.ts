import { access, chmod, constants, mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { etcdVersionDir } from '../api/index.ts';
import { pathExists } from './atomic-file.ts';
import { parseEtcdVersion } from './etcd.ts';
import { compactUtc } from './etcd-data-dir.ts';
import { runCommand } from './run.ts';
import { extractTarball } from './tar.ts';

/** The programs of an official etcd release, in the order they are linked. */
export const ETCD_PROGRAMS = ['etcd', 'etcdctl', 'etcdutl'] as const;

/** What `<dir>/etcd --version` reports, or why it could not run. */
export async function versionIn(dir: string): Promise<{ version: string | null; problem: string }> {
  const r = await runCommand(join(dir, 'etcd'), ['--version'], 10_000);
  const version = r.code === 0 ? parseEtcdVersion(r.stdout + r.stderr) : null;
  const problem = r.notFound
    ? 'no etcd program'
    : r.code !== 0
      ? `etcd --version failed: ${r.stderr.trim() || `exit ${r.code}`}`
      : version === null
        ? `etcd --version printed no version: ${r.stdout.trim().slice(0, 200)}`
        : '';
  return { version, problem };
}

/** The etcd programs present (and executable) in `dir`. */
export async function programsIn(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of ETCD_PROGRAMS) {
    try {
      await access(join(dir, name), constants.X_OK);
      found.push(name);
    } catch {
      // not shipped by this release (etcdutl arrived in 3.5)
    }
  }
  return found;
}

/** The directory holding `etcd` in an unpacked release: the top itself or its single folder. */
async function releaseDir(top: string): Promise<string> {
  if (await pathExists(join(top, 'etcd'))) return top;
  const entries = (await readdir(top, { withFileTypes: true })).filter((e) => e.isDirectory());
  const inner = entries.length === 1 && entries[0] ? join(top, entries[0].name) : null;
  if (inner && (await pathExists(join(inner, 'etcd')))) return inner;
  throw new Error('the tarball does not have the official layout etcd-vX-linux-ARCH/{etcd,etcdctl}');
}

/**
 * Unpack `tarball` into `<root>/v<version>` atomically: extracted into a temporary folder under
 * `root`, checked (`etcd --version` must report `version`), then renamed into place. A previous,
 * broken copy of that version is replaced.
 */
export async function unpackRelease(tarball: string, root: string, version: string): Promise<string> {
  const target = etcdVersionDir(version, root);
  await mkdir(root, { recursive: true, mode: 0o755 });
  const temp = await mkdtemp(join(root, `.unpack-v${version}-`));
  try {
    await extractTarball(tarball, temp);
    const dir = await releaseDir(temp);
    const { version: found, problem } = await versionIn(dir);
    if (found !== version) {
      throw new Error(`${tarball} does not hold etcd ${version}: ${problem || `it holds etcd ${found}`}`);
    }
    await chmod(dir, 0o755);
    if (await pathExists(target)) {
      const old = `${target}.replaced-${compactUtc(Date.now())}`;
      await rename(target, old);
      await rm(old, { recursive: true, force: true });
    }
    await rename(dir, target);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return target;
}

import { readFile, readlink, realpath, rename } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathExists } from './atomic-file.ts';
import { findProcesses } from './processes.ts';

/** The value of `--name[=]value` in an argv, last one winning (as Go's flag package does). */
function flagValue(argv: string[], name: string): string | undefined {
  let value: string | undefined;
  argv.forEach((arg, i) => {
    const bare = arg.replace(/^--?/, '');
    if (bare === name && argv[i + 1] !== undefined) value = argv[i + 1];
    else if (bare.startsWith(`${name}=`)) value = bare.slice(name.length + 1);
  });
  return value;
}

/**
 * The data directory an etcd process uses: `--data-dir`, else $ETCD_DATA_DIR, else
 * `<name>.etcd` (name from `--name`/$ETCD_NAME, default "default") in its working directory.
 */
export function dataDirOf(argv: string[], env: Map<string, string>, cwd: string): string {
  const dir =
    flagValue(argv, 'data-dir') ??
    env.get('ETCD_DATA_DIR') ??
    `${flagValue(argv, 'name') ?? env.get('ETCD_NAME') ?? 'default'}.etcd`;
  return resolve(cwd, dir);
}

async function nulSeparated(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\0').filter(Boolean);
}

async function canonical(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return resolve(path);
  }
}

/** Pids of the etcd processes whose data directory is `dir` (root sees every process). */
export async function etcdProcessesUsing(dir: string): Promise<number[]> {
  const wanted = await canonical(dir);
  const out: number[] = [];
  for (const { pid } of await findProcesses('etcd')) {
    try {
      const argv = await nulSeparated(`/proc/${pid}/cmdline`);
      const env = new Map(
        (await nulSeparated(`/proc/${pid}/environ`).catch(() => [])).map((kv) => {
          const eq = kv.indexOf('=');
          return [kv.slice(0, eq), kv.slice(eq + 1)] as [string, string];
        }),
      );
      const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '/');
      if ((await canonical(dataDirOf(argv.slice(1), env, cwd))) === wanted) out.push(pid);
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** "20240507T101112Z": a UTC timestamp that sorts and needs no quoting. */
export function compactUtc(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** A free `<path>.removed-<timestamp>[-N]` name. */
export async function asideName(path: string, nowMs: number): Promise<string> {
  const base = `${path}.removed-${compactUtc(nowMs)}`;
  let candidate = base;
  for (let n = 2; await pathExists(candidate); n++) candidate = `${base}-${n}`;
  return candidate;
}

export async function moveAside(path: string, to: string): Promise<void> {
  await rename(path, to);
}

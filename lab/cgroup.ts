/**
 * The cgroups of systemd lab hosts. Each such host runs in its own cgroup of this machine's cgroup2
 * (unified) hierarchy, `tskv-lab/<lab>.<host>`, with a cgroup namespace rooted there, so its
 * systemd manages only that subtree. `tskv-lab` is the lab's one dedicated subtree: nothing else of
 * the machine's cgroups is created, changed or removed. On a hybrid layout (cgroup v1 controllers
 * plus `unified`, as on this machine) that is /sys/fs/cgroup/unified/tskv-lab; on a pure cgroup2
 * machine /sys/fs/cgroup/tskv-lab. Hosts without an init system use no cgroup of their own.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { TskvError } from '../controller/errors.ts';
import { pollUntil } from './run.ts';

const SUBTREE = 'tskv-lab';
const CANDIDATES = ['/sys/fs/cgroup/unified', '/sys/fs/cgroup'];

/** Where this machine mounts its cgroup2 hierarchy (undefined: none, or not at the usual places). */
function cgroup2Root(): string | undefined {
  let mounts: string;
  try {
    mounts = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return undefined;
  }
  const cgroup2 = new Set(
    mounts
      .split('\n')
      .filter((line) => / - cgroup2 /.test(line))
      .map((line) => line.split(' ')[4]),
  );
  return CANDIDATES.find((dir) => cgroup2.has(dir));
}

/** The lab's dedicated subtree (whether or not it exists); undefined when there is no cgroup2. */
export function labCgroupRoot(): string | undefined {
  const root = cgroup2Root();
  return root === undefined ? undefined : join(root, SUBTREE);
}

/** The cgroup of one systemd host, `<root>/tskv-lab/<lab>.<host>` (lab and host names hold no dots). */
export function hostCgroup(lab: string, host: string): string {
  const root = labCgroupRoot();
  if (root === undefined) {
    throw new TskvError('E_LAB_BOOT', 'systemd lab hosts need a cgroup2 hierarchy on this machine', {
      host,
      fix: "mount cgroup2 at /sys/fs/cgroup/unified (hybrid) or /sys/fs/cgroup, or use 'lab up --init none'",
    });
  }
  return join(root, `${lab}.${host}`);
}

/** A fresh, empty cgroup for a host that is about to boot (what an earlier boot left is removed). */
export async function createHostCgroup(path: string): Promise<void> {
  await removeCgroupTree(path);
  // A concurrent teardown of another lab may remove the (then empty) subtree under our mkdir: again.
  await pollUntil(`cgroup ${path} to be created`, () => {
    try {
      mkdirSync(path, { recursive: true });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  });
}

function childCgroups(path: string): string[] {
  try {
    return readdirSync(path, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(path, e.name));
  } catch {
    return [];
  }
}

/** `path` and every cgroup below it, deepest first. */
function deepestFirst(path: string): string[] {
  return [...childCgroups(path).flatMap(deepestFirst), path];
}

/**
 * Removes a cgroup and everything below it, deepest first, once its processes are gone (the kernel
 * refuses to remove a cgroup with a process in it: EBUSY, retried until the deadline).
 */
export async function removeCgroupTree(path: string): Promise<void> {
  if (!existsSync(path)) return;
  await pollUntil(
    `the processes of cgroup ${path} to exit`,
    () => {
      for (const dir of deepestFirst(path)) {
        try {
          rmdirSync(dir);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EBUSY') return undefined;
          if (code !== 'ENOENT') throw err;
        }
      }
      return true;
    },
    { timeoutMs: 15_000, intervalMs: 20 },
  );
}

/** The cgroups of lab `lab`'s hosts that exist on this machine. */
export function labCgroups(lab: string): string[] {
  const root = labCgroupRoot();
  return root === undefined ? [] : childCgroups(root).filter((dir) => dir.startsWith(join(root, `${lab}.`)));
}

/** Removes every cgroup of lab `lab`, and the dedicated subtree when no other lab uses it. */
export async function removeLabCgroups(lab: string): Promise<void> {
  for (const dir of labCgroups(lab)) await removeCgroupTree(dir);
  const root = labCgroupRoot();
  if (root === undefined) return;
  try {
    rmdirSync(root);
  } catch {
    // missing, or another lab's hosts still run there
  }
}

/**
 * One benchmark per lab name at a time: a second `npm run bench` would tear the first one's lab
 * down under it (Lab.up({ fresh: true })). The lock file holds the owner's pid; a stale one (its
 * process gone) is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { TskvError } from '../../controller/errors.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the lock at `path` or throws naming the benchmark that holds it; returns the release. */
export function lockBench(path: string, lab: string): () => void {
  mkdirSync(dirname(path), { recursive: true });
  let holder: number | undefined;
  try {
    holder = Number(readFileSync(path, 'utf8').trim()) || undefined;
  } catch {
    holder = undefined;
  }
  if (holder !== undefined && holder !== process.pid && alive(holder)) {
    throw new TskvError('E_BENCH_BUSY', `another benchmark (pid ${holder}) is using lab '${lab}'`, {
      fix: `wait for it to finish, or run this one on another lab: npm run bench -- --lab ${lab}2`,
    });
  }
  writeFileSync(path, `${process.pid}\n`);
  return () => {
    try {
      if (Number(readFileSync(path, 'utf8').trim()) === process.pid) rmSync(path, { force: true });
    } catch {
      // already gone
    }
  };
}

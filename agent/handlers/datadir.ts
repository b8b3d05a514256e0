import type { routes } from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { checkDataDir, type DataDirChecks } from '../policy/data-dir.ts';
import { asideName, etcdProcessesUsing, moveAside } from '../system/etcd-data-dir.ts';
import { mountPoints } from '../system/mounts.ts';
import type { Handler } from './types.ts';

/**
 * Rename a data directory to `<path>.removed-<UTC timestamp>`: never deleted, refused while etcd
 * uses it, and only an etcd data dir (policy/data-dir.ts); an empty one stays. `checks` is for tests.
 */
export function makeDataDirMoveAside(
  checks: DataDirChecks = { mountPoints },
): Handler<typeof routes.dataDirMoveAside> {
  return async ({ path, checkOnly }) => {
    const found = await checkDataDir(path, checks);
    if (found.kind === 'missing') return { changed: false, actions: [`nothing at ${path}`], movedTo: null };
    if (found.kind === 'empty') return { changed: false, actions: [`nothing in ${path}`], movedTo: null };
    if (checkOnly) return { changed: false, actions: [`${path} can be moved aside`], movedTo: null };
    const users = await etcdProcessesUsing(path);
    if (users.length > 0) {
      throw new AgentError(
        'E_AGENT_BAD_REQUEST',
        `refusing to move ${path} aside: etcd (pid ${users.join(', ')}) is running with it; stop etcd first`,
        409,
      );
    }
    const to = await asideName(path, Date.now());
    await moveAside(path, to);
    return { changed: true, actions: [`move ${path} aside to ${to}`], movedTo: to };
  };
}

export const dataDirMoveAside = makeDataDirMoveAside();

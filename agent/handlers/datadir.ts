import type { routes } from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { pathExists } from '../system/atomic-file.ts';
import { asideName, etcdProcessesUsing, moveAside } from '../system/etcd-data-dir.ts';
import type { Handler } from './types.ts';

/** Rename a data directory to `<path>.removed-<UTC timestamp>`: never deleted, refused while etcd uses it. */
export const dataDirMoveAside: Handler<typeof routes.dataDirMoveAside> = async ({ path }) => {
  if (!(await pathExists(path))) {
    return { changed: false, actions: [`nothing at ${path}`], movedTo: null };
  }
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

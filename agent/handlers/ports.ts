import type { PortListener, PortUsage, routes } from '../api/index.ts';
import { readTcpListeners } from '../system/proc-net.ts';
import { socketOwners } from '../system/processes.ts';
import type { Handler } from './types.ts';

/** Who listens on each of the given TCP ports (any address, IPv4 and IPv6). */
export async function portUsage(ports: number[]): Promise<PortUsage[]> {
  const wanted = new Set(ports);
  const listeners = (await readTcpListeners()).filter((l) => wanted.has(l.port));
  const owners = await socketOwners(new Set(listeners.map((l) => l.inode)));
  return ports.map((port) => {
    const here: PortListener[] = listeners
      .filter((l) => l.port === port)
      .map((l) => {
        const owner = owners.get(l.inode);
        return {
          address: l.address,
          family: l.family,
          pid: owner?.pid ?? null,
          command: owner?.command ?? null,
        };
      });
    return { port, inUse: here.length > 0, listeners: here };
  });
}

export const ports: Handler<typeof routes.ports> = async (request) => ({
  ports: await portUsage([...new Set(request.ports)]),
});

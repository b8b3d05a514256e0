/**
 * The agent narrows a port to some sources only where that cannot lock the operator out: never
 * SSH's port (22, or one sshd listens on), tskv's only way in. What reaches a rule is checked by
 * the API already: ports are numbers, sources networks in one spelling (api/cidr.ts).
 */
import { refused } from '../errors.ts';
import { readTcpListeners } from '../system/proc-net.ts';
import { socketOwners } from '../system/processes.ts';

/** The programs listening on each port asked about. */
export type Listeners = (ports: number[]) => Promise<{ port: number; commands: string[] }[]>;

const hostListeners: Listeners = async (ports) => {
  const listening = (await readTcpListeners()).filter((l) => ports.includes(l.port));
  const owners = await socketOwners(new Set(listening.map((l) => l.inode)));
  return ports.map((port) => ({
    port,
    commands: listening.filter((l) => l.port === port).map((l) => owners.get(l.inode)?.command ?? '?'),
  }));
};

export async function checkRestrictedPorts(
  ports: number[],
  listeners: Listeners = hostListeners,
): Promise<void> {
  if (ports.length === 0) return;
  const ssh =
    ports.find((p) => p === 22) ??
    (await listeners(ports)).find((u) => u.commands.some((c) => /^sshd\b/.test(c)))?.port;
  if (ssh !== undefined) {
    throw refused(
      `port ${ssh} is SSH's: the agent narrows no port sshd listens on to some sources (it could shut the operator out)`,
    );
  }
}

/**
 * The cluster lock every changing command holds while it plans and runs: the agent's lock on each
 * host (agent/api/lock.ts), taken host by host in name order, so that of two runs started together
 * exactly one gets them all and the other fails at once, naming who holds it. A lock lives as long
 * as this run's connection to each host: a killed run leaves nothing to clean up.
 */
import { hostname, userInfo } from 'node:os';
import { holdRoutes, type LockOwner } from '../../agent/api/index.ts';
import type { AgentClient } from '../agent-client/client.ts';
import { TskvError } from '../errors.ts';

export interface LockableHost {
  name: string;
  agent: Pick<AgentClient, 'hold'>;
}

export interface HeldLock {
  release(): void;
  /** Runs whose locks were broken to get this one (--break-lock), as "user@controller (...): command". */
  broke: string[];
}

function owner(command: string): LockOwner {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry for this uid: still a valid owner
  }
  return { user, controller: hostname(), pid: process.pid, command, since: new Date().toISOString() };
}

export async function lockCluster(
  hosts: LockableHost[],
  command: string,
  breakLock: boolean,
): Promise<HeldLock> {
  const me = owner(command);
  const releases: (() => void)[] = [];
  const broke = new Set<string>();
  const release = () => {
    for (const r of releases.splice(0)) r();
  };
  try {
    for (const h of [...hosts].sort((a, b) => a.name.localeCompare(b.name))) {
      const held = await h.agent.hold(
        holdRoutes.lockHold,
        { owner: me, breakHolder: breakLock },
        { step: 'lock the cluster', timeoutMs: 15_000 },
      );
      releases.push(held.release);
      const b = held.reply.broke;
      if (b) broke.add(`${b.user}@${b.controller} (pid ${b.pid}, since ${b.since}): ${b.command}`);
    }
  } catch (err) {
    release();
    if (err instanceof TskvError && err.code === 'E_AGENT_LOCKED') {
      throw new TskvError(
        'E_LOCKED',
        `another tskv run is changing this cluster; nothing was changed: ${err.message}`,
        {
          ...(err.host ? { host: err.host } : {}),
          step: 'lock the cluster',
          fix: 'wait for it to finish; if that run is gone but its hold hung (a lost connection), re-run with --break-lock',
        },
      );
    }
    throw err;
  }
  return { release, broke: [...broke] };
}

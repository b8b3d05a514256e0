/**
 * The cluster lock every changing command holds while it plans and runs: the agent's lock on each
 * host (agent/api/lock.ts), taken host by host in name order, so that of two runs started together
 * exactly one gets them all and the other fails at once, naming who holds it. A lock lives as long
 * as this run's connection to each host: a killed run leaves nothing to clean up.
 *
 * The hosts may still be connecting (an agent given as a promise): each is locked as soon as it and
 * every host before it in that order are up, so that work which must only reach locked hosts (the
 * etcd tarball push) can start on each host while the others still connect (`onHeld`).
 */
import { hostname, userInfo } from 'node:os';
import { describeLockOwner, holdRoutes, type LockOwner } from '../../agent/api/index.ts';
import type { AgentClient } from '../agent-client/client.ts';
import { TskvError } from '../errors.ts';

type Holder = Pick<AgentClient, 'hold'>;

export interface LockableHost {
  name: string;
  /** The host's agent, or its promise (undefined: the host could not be reached and is not locked). */
  agent: Holder | Promise<Holder | undefined>;
}

export interface HeldLock {
  release(): void;
  /** Throws E_LOCK_LOST once a host's hold has ended (broken by another run, the connection lost). */
  check(): void;
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
  onHeld: (host: string) => void = () => {},
  /** Told of a refusal (or failure) before the hosts already locked are let go. */
  onFail: () => void = () => {},
): Promise<HeldLock> {
  const me = owner(command);
  const releases: (() => void)[] = [];
  const holds: { host: string; ended(): boolean }[] = [];
  const broke = new Set<string>();
  const release = () => {
    for (const r of releases.splice(0)) r();
  };
  try {
    // Code-unit order, not the locale's: every controller must take the hosts in the same order.
    for (const h of [...hosts].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const agent = await h.agent;
      if (!agent) continue;
      const held = await agent.hold(
        holdRoutes.lockHold,
        { owner: me, breakHolder: breakLock },
        { step: 'lock the cluster', timeoutMs: 15_000 },
      );
      releases.push(held.release);
      holds.push({ host: h.name, ended: held.ended });
      if (held.reply.broke) broke.add(describeLockOwner(held.reply.broke));
      onHeld(h.name);
    }
  } catch (err) {
    try {
      onFail();
    } finally {
      release();
    }
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
  let released = false;
  return {
    release() {
      released = true;
      release();
    },
    check() {
      const lost = released ? undefined : holds.find((h) => h.ended());
      if (!lost) return;
      throw new TskvError(
        'E_LOCK_LOST',
        'this run lost the cluster lock (another run broke it, or the connection dropped); it stops here',
        {
          host: lost.host,
          step: 'lock the cluster',
          fix: 'tskv status shows where the cluster is; re-run the command once no other run changes it: it resumes',
        },
      );
    },
    broke: [...broke],
  };
}

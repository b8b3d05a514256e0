/** A run's open channels: one SSH connection and one agent per host, opened in parallel, closed together. */
import { routes } from '../../agent/api/index.ts';
import { type AgentHandle, ensureAgent } from '../agent-client/bootstrap.ts';
import type { AgentClient } from '../agent-client/client.ts';
import { ConnectionPool, type HostConnection } from '../connect/index.ts';
import type { HostSpec, Inventory } from '../inventory/model.ts';
import { type CheckResult, failedCheck } from '../ops/checks.ts';
import { forks } from '../run/forks.ts';
import { type HeldLock, lockCluster } from '../run/lock.ts';
import { forEachHost, type ProgressMode } from '../run/progress.ts';
import { type TransferListener, TransferLog } from '../run/transfer.ts';

export interface HostChannel {
  spec: HostSpec;
  conn: HostConnection;
  agent: AgentClient;
  /** The agent binary was uploaded in this run (false: the host already had this build). */
  agentUploaded: boolean;
  /** An agent process was started in this run (false: the host's resident agent answered). */
  agentStarted: boolean;
  /** Told how a file pushed to this host outside a progress group moves (the etcd tarball). */
  onTransfer?: TransferListener;
}

export interface Session {
  inventory: Inventory;
  mode: ProgressMode;
  /** Hosts whose connection and agent are up. */
  hosts: Map<string, HostChannel>;
  /** Hosts that could not be reached, as preflight results (check "ssh" or "agent"). */
  unreachable: CheckResult[];
  /** Every file this run pushed to a host: what, bytes, seconds, rate. */
  transfers: TransferLog;
  /** The cluster lock on every connected host, for `command` (see run/lock.ts). */
  lock(command: string, breakLock: boolean): Promise<HeldLock>;
  /**
   * Closes this run's streams; the agents stay resident for the next command. `leaveNoAgent`: the
   * agents this run started exit once it has gone (a dry run leaves nothing behind).
   */
  close(options?: { leaveNoAgent?: boolean }): Promise<void>;
}

export async function openSession(inventory: Inventory, mode: ProgressMode): Promise<Session> {
  const pool = new ConnectionPool();
  const handles: AgentHandle[] = [];
  const specs = new Map(inventory.hosts.map((h) => [h.name, h]));
  const transfers = new TransferLog(mode === 'tty');
  // Outside a progress group (the tarball pushed while preflight runs) only the end is shown, and
  // only on plain output: a line would break the live view on a TTY, where JSON has it all the same.
  const background = (host: string) =>
    transfers.listener((line) => {
      if (mode === 'plain') process.stderr.write(`${host}: ${line}\n`);
    }, false);
  const outcomes = await forEachHost(
    'connect and start agents',
    inventory.hosts.map((h) => h.name),
    async (name, report) => {
      const spec = specs.get(name)!;
      report('ssh');
      const conn = await pool.get(spec);
      report('agent');
      const handle = await ensureAgent(conn, {
        sshUser: spec.ssh.user,
        onTransfer: transfers.listener(report),
      });
      handles.push(handle);
      const sent = `${handle.sentFiles.join(' + ')}, ${(handle.sentBytes / 1e6).toFixed(1)} MB`;
      report(
        handle.uploaded ? `agent uploaded (${sent})` : handle.started ? 'agent started' : 'agent running',
      );
      return {
        spec,
        conn,
        agent: handle.client,
        agentUploaded: handle.uploaded,
        agentStarted: handle.started,
        onTransfer: background(name),
      } satisfies HostChannel;
    },
    mode,
    forks(),
  );
  const hosts = new Map<string, HostChannel>();
  const unreachable: CheckResult[] = [];
  for (const [name, o] of outcomes) {
    if (o.ok) hosts.set(name, o.value);
    else unreachable.push(failedCheck(name, o.error, 'connect'));
  }
  return {
    inventory,
    mode,
    hosts,
    unreachable,
    transfers,
    async lock(command, breakLock) {
      const held = await lockCluster(
        [...hosts.values()].map((ch) => ({ name: ch.spec.name, agent: ch.agent })),
        command,
        breakLock,
      );
      for (const b of held.broke) process.stderr.write(`warning: broke the cluster lock of ${b}\n`);
      return held;
    },
    async close(options = {}) {
      if (options.leaveNoAgent) {
        await Promise.all(
          [...hosts.values()]
            .filter((ch) => ch.agentStarted)
            .map((ch) => ch.agent.call(routes.exitWhenIdle, {}, { timeoutMs: 5000 }).catch(() => undefined)),
        );
      }
      // Only this run's streams close: the agents stay resident for the next command and exit once idle.
      for (const h of handles) h.close().catch(() => undefined);
      pool.closeAll();
    },
  };
}

/**
 * A channel to a host outside the session's inventory hosts (a member that left the inventory),
 * with the same SSH settings; closed by the caller once done.
 */
export async function openChannel(spec: HostSpec): Promise<{ ch: HostChannel; close(): Promise<void> }> {
  const pool = new ConnectionPool();
  try {
    const conn = await pool.get(spec);
    const handle = await ensureAgent(conn, { sshUser: spec.ssh.user });
    const ch: HostChannel = {
      spec,
      conn,
      agent: handle.client,
      agentUploaded: handle.uploaded,
      agentStarted: handle.started,
    };
    return {
      ch,
      async close() {
        await handle.close().catch(() => undefined);
        pool.closeAll();
      },
    };
  } catch (err) {
    pool.closeAll();
    throw err;
  }
}

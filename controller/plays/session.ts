/** A run's open channels: one SSH connection and one agent per host, opened in parallel, closed together. */
import { routes } from '../../agent/api/index.ts';
import { type AgentHandle, ensureAgent } from '../agent-client/bootstrap.ts';
import type { AgentClient } from '../agent-client/client.ts';
import { loadAgentBuild } from '../agent-client/manifest.ts';
import { ConnectionPool, type HostConnection } from '../connect/index.ts';
import { TskvError } from '../errors.ts';
import type { HostSpec, Inventory } from '../inventory/model.ts';
import { type CheckResult, failedCheck } from '../ops/checks.ts';
import { forks } from '../run/forks.ts';
import { type HeldLock, lockCluster } from '../run/lock.ts';
import { forEachHost, type ProgressMode } from '../run/progress.ts';
import { type TransferListener, TransferLog } from '../run/transfer.ts';
import { hostRelay, relayedLine, runtimeKey } from '../transfer/relay.ts';
import { RelayBoard } from '../transfer/relay-board.ts';

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
  /** Host-to-host relays of this run (undefined: inventory transfer.relay is false). */
  relay: RelayBoard | undefined;
  /** Per host, how the agent's files came: pushed (with the bytes this controller sent), relayed, notes. */
  arrivals: Record<string, string[]>;
  /** The cluster lock on every connected host, for `command` (see run/lock.ts). */
  lock(command: string, breakLock: boolean): Promise<HeldLock>;
  /**
   * Closes this run's streams; the agents stay resident for the next command. `leaveNoAgent`: the
   * agents this run started exit once it has gone (a dry run leaves nothing behind).
   */
  close(options?: { leaveNoAgent?: boolean }): Promise<void>;
}

/** How the agent's files reached the host, for the output: what this controller sent, what came by relay, and notes. */
function agentTransferLines(handle: AgentHandle): string[] {
  const lines: string[] = [];
  if (handle.sentFiles.length > 0) {
    lines.push(`${handle.sentFiles.join(' + ')} pushed (${(handle.sentBytes / 1e6).toFixed(1)} MB sent)`);
  }
  if (handle.runtimeFrom) lines.push(relayedLine('runtime', handle.runtimeFrom));
  return [...lines, ...handle.notes];
}

/** Told how the cluster lock taken while the hosts connect goes (SessionOptions.lock). */
export interface LockFollower {
  /** This run now holds `ch`'s lock (in the lock's host order, while later hosts may still connect). */
  held(ch: HostChannel, relay: RelayBoard | undefined): void;
  /** The lock was refused or failed: nothing more may reach any host. */
  refused(): void;
}

export interface SessionOptions {
  /**
   * Takes the cluster lock for `command` as the hosts connect (run/lock.ts), each host as soon as it
   * and the hosts before it are up; `lock()` then answers with it.
   */
  lock?: { command: string; breakLock: boolean; follower?: LockFollower };
}

export async function openSession(
  inventory: Inventory,
  mode: ProgressMode,
  options: SessionOptions = {},
): Promise<Session> {
  const pool = new ConnectionPool();
  const handles: AgentHandle[] = [];
  const specs = new Map(inventory.hosts.map((h) => [h.name, h]));
  const transfers = new TransferLog(mode);
  const relay = inventory.transfer.relay ? new RelayBoard() : undefined;
  const arrivals: Record<string, string[]> = {};
  // Every host under way says whether it has the runtime before anyone gets it over the
  // controller's link (a host still queued behind --forks is not waited for). (An unbuilt agent is
  // each host's error, from ensureAgent, as before.)
  const runtime = relay
    ? await loadAgentBuild().then(
        (b) => runtimeKey(b.manifest.runtime.sha256),
        () => '',
      )
    : '';
  const pass = (name: string) => (err: unknown) => {
    relay?.pass(runtime, name);
    throw err;
  };
  // Each host's channel once it is up (undefined: it could not be reached), for the early lock.
  const up = new Map(inventory.hosts.map((h) => [h.name, Promise.withResolvers<HostChannel | undefined>()]));
  const channels = new Map<string, HostChannel>();
  const early = options.lock && lockWhileConnecting(options.lock, up, channels, relay);
  // Once the early lock is refused, hosts not yet reached get no agent: the run fails with the refusal.
  let refusal: unknown;
  early?.catch((err: unknown) => {
    refusal = err;
  });
  const outcomes = await forEachHost(
    'connect and start agents',
    inventory.hosts.map((h) => h.name),
    (name, report) =>
      connectHost(name, report).then(
        (ch) => {
          channels.set(name, ch);
          up.get(name)!.resolve(ch);
          return ch;
        },
        (err: unknown) => {
          up.get(name)!.resolve(undefined);
          throw err;
        },
      ),
    mode,
    forks(),
  );
  async function connectHost(name: string, report: (line: string) => void): Promise<HostChannel> {
    const spec = specs.get(name)!;
    if (relay && hostRelay(relay, name, spec.address)) relay.expect(runtime, [name]);
    const refused = () =>
      pass(name)(
        new TskvError('E_LOCKED', 'not connected: this run was refused the cluster lock', {
          host: name,
          step: 'lock the cluster',
        }),
      );
    if (refusal) refused();
    report('ssh');
    const conn = await pool.get(spec).catch(pass(name));
    if (refusal) refused();
    report('agent');
    const relayed = hostRelay(relay, name, spec.address);
    const handle = await ensureAgent(conn, {
      sshUser: spec.ssh.user,
      onTransfer: transfers.listener(report),
      ...(relayed ? { relay: relayed } : {}),
    }).catch(pass(name));
    handles.push(handle);
    arrivals[name] = agentTransferLines(handle);
    if (relay && !relayed && handle.sentFiles.includes('runtime')) {
      arrivals[name].push(
        `note: runtime pushed directly: ${spec.address} is not an IPv4 address (relays go between IPv4 inventory addresses)`,
      );
    }
    report(
      handle.uploaded || handle.runtimeFrom
        ? `agent installed (${arrivals[name].join('; ')})`
        : handle.started
          ? 'agent started'
          : 'agent running',
    );
    return {
      spec,
      conn,
      agent: handle.client,
      agentUploaded: handle.uploaded,
      agentStarted: handle.started,
      onTransfer: transfers.background(name),
    } satisfies HostChannel;
  }
  for (const u of up.values()) u.resolve(undefined);
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
    relay,
    arrivals,
    transfers,
    async lock(command, breakLock) {
      const held = await (early ??
        lockCluster(
          [...hosts.values()].map((ch) => ({ name: ch.spec.name, agent: ch.agent })),
          command,
          breakLock,
        ));
      for (const b of held.broke) process.stderr.write(`warning: broke the cluster lock of ${b}\n`);
      return held;
    },
    async close(options = {}) {
      // An early lock no command asked for (the run failed before): released with the streams.
      early?.then((held) => held.release()).catch(() => undefined);
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

/** The early lock (SessionOptions.lock): taken host by host as `up` says each is connected. */
function lockWhileConnecting(
  lock: NonNullable<SessionOptions['lock']>,
  up: Map<string, PromiseWithResolvers<HostChannel | undefined>>,
  channels: Map<string, HostChannel>,
  relay: RelayBoard | undefined,
): Promise<HeldLock> {
  return lockCluster(
    [...up].map(([name, u]) => ({ name, agent: u.promise.then((ch) => ch?.agent) })),
    lock.command,
    lock.breakLock,
    (name) => lock.follower?.held(channels.get(name)!, relay),
    // Refused before any command asks: the follower stops before the holds go; lock() throws it.
    () => lock.follower?.refused(),
  );
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

import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ConnectionPool, type HostConnection } from '../connect/index.ts';
import { describeCause, TskvError } from '../errors.ts';
import { EtcdClient } from '../etcd/index.ts';
import { EtcdTunnels, readClientIdentity } from '../etcd-tunnel.ts';
import { AllFailed, firstSuccess } from '../first-success.ts';
import type { HostSpec, Inventory } from '../inventory/model.ts';
import { tlsOn } from '../inventory/tls.ts';
import { ETCDCTL_IDENTITY_FILES, etcdctlEndpointVars } from '../render/etcdctl-env.ts';
import { etcdctlScript, identityPreamble } from '../render/etcdctl-remote.ts';
import { findHost } from '../render/settings.ts';

const HEALTH_TIMEOUT_MS = 3000;
/** How long a member may take to answer before the next one is asked as well. */
const NEXT_MEMBER_AFTER_MS = 1500;
/** After INT (the operator's Ctrl-C), how long etcdctl and the script's cleanup get before KILL. */
const STOP_GRACE_MS = 5000;

export interface EtcdctlOptions {
  /** Run on this member (and talk only to it); default: the first member that answers healthy. */
  host?: string;
  args: string[];
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** Aborted: etcdctl gets INT, as from a Ctrl-C (its key directory is removed), then KILL after a grace. */
  stop?: AbortSignal;
}

/**
 * tskv's client identity and trust, as its own connections read them (during a CA rotation both
 * CAs), in ETCDCTL_IDENTITY_FILES's order.
 */
async function readIdentity(inv: Inventory): Promise<string[]> {
  const identity = await readClientIdentity(inv);
  return ETCDCTL_IDENTITY_FILES.map((f) => identity[f.source]);
}

interface Candidate {
  spec: HostSpec;
  conn: HostConnection;
}

/** Why `spec`'s member cannot run etcdctl now, or its connection when it answers healthy. */
async function healthOf(pool: ConnectionPool, tunnels: EtcdTunnels, spec: HostSpec): Promise<Candidate> {
  let conn: HostConnection;
  try {
    conn = await pool.get(spec);
  } catch (err) {
    throw new Error(`not reachable over SSH: ${describeCause(err)}`);
  }
  const client = new EtcdClient(tunnels.endpoint(conn), { timeoutMs: HEALTH_TIMEOUT_MS });
  let health: Awaited<ReturnType<EtcdClient['health']>>;
  try {
    health = await client.health();
  } catch (err) {
    throw new Error(`etcd does not answer: ${describeCause(err)}`);
  }
  if (!health.healthy) throw new Error(`etcd is not healthy${health.reason ? `: ${health.reason}` : ''}`);
  return { spec, conn };
}

/** The refusal when no candidate answered healthy: each host's problem, in inventory order. */
export function noHealthyMember(problems: [string, string][], forced: boolean): TskvError {
  const lines = problems.map(([host, why]) => `  ${host}: ${why}`).join('\n');
  return new TskvError(
    'E_NO_HEALTHY_MEMBER',
    forced
      ? `cannot run etcdctl on ${problems[0]?.[0]}:\n${lines}`
      : `no member is healthy to run etcdctl on:\n${lines}`,
    {
      step: 'pick a member',
      fix: forced
        ? 'leave out --host to run on any healthy member (tskv status shows each one)'
        : 'tskv status shows each member; tskv deploy starts stopped ones',
    },
  );
}

/**
 * The first of `hosts` whose member answers healthy, asked in inventory order: the next one as soon
 * as one fails, or when one is slow to answer (usually a single SSH connection is made).
 */
async function pickMember(
  pool: ConnectionPool,
  tunnels: EtcdTunnels,
  hosts: HostSpec[],
  forced: boolean,
): Promise<Candidate> {
  try {
    return await firstSuccess(hosts, (h) => healthOf(pool, tunnels, h), NEXT_MEMBER_AFTER_MS);
  } catch (err) {
    const errors = err instanceof AllFailed ? err.errors : hosts.map(() => err);
    throw noHealthyMember(
      hosts.map((h, i) => [h.name, describeCause(errors[i])]),
      forced,
    );
  }
}

/** Streams a remote process's stdin, stdout and stderr (etcdctl's, `tskv ssh`'s command) until it exits; its exit code. */
export async function stream(
  proc: Awaited<ReturnType<HostConnection['spawn']>>,
  o: Pick<EtcdctlOptions, 'stdin' | 'stdout' | 'stderr' | 'stop'>,
  preamble: string,
) {
  // etcdctl may exit before it read everything (a get does not read stdin at all).
  proc.stdin.on('error', () => {});
  if (preamble) proc.stdin.write(preamble);
  o.stdin.pipe(proc.stdin);
  proc.stdout.pipe(o.stdout, { end: false });
  proc.stderr.pipe(o.stderr, { end: false });
  let killTimer: NodeJS.Timeout | undefined;
  const onStop = () => {
    proc.kill('INT');
    killTimer = setTimeout(() => proc.kill('KILL'), STOP_GRACE_MS);
  };
  o.stop?.addEventListener('abort', onStop, { once: true });
  try {
    const code = await proc.exited;
    const drained = (s: NodeJS.ReadableStream) => finished(s, { writable: false }).catch(() => undefined);
    await Promise.all([drained(proc.stdout), drained(proc.stderr)]);
    return code;
  } finally {
    clearTimeout(killTimer);
    o.stop?.removeEventListener('abort', onStop);
    o.stdin.unpipe(proc.stdin);
    o.stdin.pause();
  }
}

export async function runEtcdctl(inv: Inventory, o: EtcdctlOptions): Promise<number> {
  const vars = etcdctlEndpointVars(inv, o.host); // also refuses an unknown --host
  const tls = tlsOn(inv);
  const preamble = tls ? identityPreamble(await readIdentity(inv)) : '';
  const hosts = o.host === undefined ? inv.hosts : [findHost(inv, o.host)!];
  // No root needed: etcdctl runs as the SSH user, or as etcd when that user is root.
  const pool = new ConnectionPool({ requireRoot: false });
  const tunnels = new EtcdTunnels(inv);
  try {
    const { spec, conn } = await pickMember(pool, tunnels, hosts, o.host !== undefined);
    o.stop?.throwIfAborted();
    const script = etcdctlScript({ host: spec.name, version: inv.etcd.version, vars, tls, args: o.args });
    const proc = await conn.spawn(script, { root: false, step: 'run etcdctl', stopOnDisconnect: true });
    const code = await stream(proc, o, preamble);
    if (code === null) {
      throw new TskvError('E_SSH_EXEC', 'etcdctl ended without an exit status (the connection closed)', {
        host: spec.name,
        step: 'run etcdctl',
      });
    }
    return code;
  } finally {
    // The connections first: a health request still out to a slow member then ends at once.
    pool.closeAll();
    await tunnels.close();
  }
}

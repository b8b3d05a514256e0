/**
 * Real etcd processes on 127.0.0.1 for tests: unique free ports (a cluster starts again on others
 * when one was taken meanwhile; a member defined later has its ports held until it starts), a temp
 * root per cluster, and a cleanup that stops every process and removes the directory (also
 * registered on process exit).
 * Binary: $ETCD_BIN, else the newest `.cache/etcd/<release>/etcd` the lab downloads, else /usr/bin/etcd.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { EtcdClient } from '../../../../controller/etcd/client.ts';
import type { EtcdEndpoint } from '../../../../controller/etcd/transport.ts';
import { waitFor } from '../../../../controller/wait.ts';
import { type ReservedPorts, reservePorts, withFreePorts } from '../../../fixtures/free-port.ts';

export interface EtcdBinaries {
  etcd: string;
  etcdctl: string | undefined;
  version: string;
}

const REPO = join(import.meta.dirname, '..', '..', '..', '..');

function candidates(): string[] {
  if (process.env['ETCD_BIN']) return [process.env['ETCD_BIN']];
  const cache = join(REPO, '.cache', 'etcd');
  const cached = existsSync(cache)
    ? readdirSync(cache)
        .filter((d) => d.startsWith('etcd-v'))
        .sort()
        .reverse()
        .map((d) => join(cache, d, 'etcd'))
    : [];
  return [...cached, '/usr/bin/etcd'];
}

/** The etcd binary to test against, or the reason there is none (the caller skips with it). */
export function findEtcd(): EtcdBinaries | { skip: string } {
  const etcd = candidates().find((p) => existsSync(p));
  if (!etcd)
    return { skip: 'no etcd binary: set ETCD_BIN, run the lab download, or apt-get install etcd-server' };
  const out = execFileSync(etcd, ['--version'], { encoding: 'utf8' });
  const version = /etcd Version: (\S+)/.exec(out)?.[1] ?? 'unknown';
  const sibling = join(dirname(etcd), 'etcdctl');
  const etcdctl = [sibling, '/usr/bin/etcdctl'].find((p) => existsSync(p));
  return { etcd, etcdctl, version };
}

export interface LocalMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  process: ChildProcess | undefined;
  /** Last lines etcd printed (stdout and stderr). */
  log: string[];
  exited: Promise<number | null> | undefined;
  /** Holds the ports from define() until start(). */
  reserved: ReservedPorts | undefined;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

export class LocalEtcd {
  readonly bin: EtcdBinaries;
  readonly root: string;
  readonly members = new Map<string, LocalMember>();
  readonly extraFlags: string[];
  private readonly token: string;

  constructor(bin: EtcdBinaries, extraFlags: string[] = []) {
    this.bin = bin;
    this.extraFlags = extraFlags;
    this.root = mkdtempSync(join(tmpdir(), 'tskv-etcd-test-'));
    this.token = `tskv-test-${process.pid}-${Date.now()}`;
  }

  /** Starts a new cluster of `names` together and waits until every member is healthy. */
  static cluster(bin: EtcdBinaries, names: string[], extraFlags: string[] = []): Promise<LocalEtcd> {
    return withFreePorts(names.length * 2, async (...ports) => {
      const local = new LocalEtcd(bin, extraFlags);
      try {
        for (const [i, name] of names.entries()) await local.define(name, ports.slice(2 * i, 2 * i + 2));
        const initial = local.initialCluster(names);
        for (const name of names) await local.start(name, initial, 'new');
        await Promise.all(names.map((n) => local.waitHealthy(n)));
        return local;
      } catch (err) {
        await local.cleanup();
        throw err;
      }
    });
  }

  /** A data dir and ports for a member (not started): [client, peer] if given, else ports held until start(). */
  async define(name: string, ports?: number[]): Promise<LocalMember> {
    const reserved = ports ? undefined : await reservePorts(2);
    const [client, peer] = ports ?? reserved!.ports;
    const member: LocalMember = {
      name,
      clientUrl: `http://127.0.0.1:${client}`,
      peerUrl: `http://127.0.0.1:${peer}`,
      dataDir: join(this.root, `${name}.etcd`),
      process: undefined,
      log: [],
      exited: undefined,
      reserved,
    };
    this.members.set(name, member);
    return member;
  }

  member(name: string): LocalMember {
    const m = this.members.get(name);
    if (!m) throw new Error(`no member ${name}`);
    return m;
  }

  initialCluster(names: string[]): string {
    return names.map((n) => `${n}=${this.member(n).peerUrl}`).join(',');
  }

  endpoint(name: string): EtcdEndpoint {
    return { name, url: this.member(name).clientUrl };
  }

  /** Starts etcd for `name` with flags only (no ETCD_* environment, which would conflict). */
  async start(name: string, initialCluster: string, state: 'new' | 'existing'): Promise<void> {
    const m = this.member(name);
    await m.reserved?.release();
    m.reserved = undefined;
    const args = [
      `--name=${name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=${m.clientUrl}`,
      `--advertise-client-urls=${m.clientUrl}`,
      `--listen-peer-urls=${m.peerUrl}`,
      `--initial-advertise-peer-urls=${m.peerUrl}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-state=${state}`,
      `--initial-cluster-token=${this.token}`,
      '--heartbeat-interval=50',
      '--election-timeout=500',
      ...this.extraFlags,
    ];
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ETCD')));
    const child = spawn(this.bin.etcd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    const keep = (chunk: Buffer) => {
      m.log.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (m.log.length > 300) m.log.splice(0, m.log.length - 300);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    m.process = child;
    m.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        live.delete(child);
        resolve(code);
      }),
    );
  }

  async waitHealthy(name: string, deadlineMs = 15_000): Promise<void> {
    const client = new EtcdClient(this.endpoint(name), { timeoutMs: 1000 });
    const m = this.member(name);
    const exited = () =>
      m.process !== undefined && (m.process.exitCode !== null || m.process.signalCode !== null);
    try {
      await waitFor(
        async () => {
          if (exited()) throw new Error(`etcd member ${name} exited`);
          return (await client.health()).healthy;
        },
        { deadlineMs, intervalMs: 50, describe: `etcd member ${name} to be healthy`, isFatal: exited },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last log lines:\n${m.log.slice(-5).join('\n')}`, {
        cause: err,
      });
    }
  }

  /** Stops a member (SIGTERM, then SIGKILL after 5 s; or SIGKILL at once) and waits for it to exit. */
  async stop(name: string, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const m = this.member(name);
    const child = m.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await m.exited;
    clearTimeout(timer);
  }

  etcdctl(args: string[], endpoints: string[]): string {
    if (!this.bin.etcdctl) throw new Error('no etcdctl');
    const env = { ...process.env, ETCDCTL_API: '3' };
    return execFileSync(this.bin.etcdctl, [`--endpoints=${endpoints.join(',')}`, ...args], {
      env,
      encoding: 'utf8',
    });
  }

  /** Kills every member (its data is thrown away, so no graceful stop) and removes the root. */
  async cleanup(): Promise<void> {
    await Promise.all([...this.members.values()].map((m) => m.reserved?.release()));
    await Promise.all([...this.members.keys()].map((n) => this.stop(n, 'SIGKILL')));
    rmSync(this.root, { recursive: true, force: true });
  }
}

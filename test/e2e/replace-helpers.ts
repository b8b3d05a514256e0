/** Membership e2e: a deployed lab cluster, an in-process view of it, and a client that writes throughout a change. */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { routes } from '../../agent/api/index.ts';
import type { EtcdCluster, EtcdMember } from '../../controller/etcd/index.ts';
import { loadInventory } from '../../controller/inventory/load.ts';
import { LiveCluster } from '../../controller/plays/live-cluster.ts';
import { openSession } from '../../controller/plays/session.ts';
import { waitFor } from '../../controller/wait.ts';
import type { EtcdMinor } from '../../lab/etcd-tarball.ts';
import type { InventoryOverrides } from '../../lab/inventory-file.ts';
import { Lab } from '../../lab/lab.ts';
import type { LabInit } from '../../lab/names.ts';
import { type CliResult, tskv } from './cli.ts';
import { assertDeployed, deploy } from './deploy-helpers.ts';

/** A lab with `hosts`, the first three deployed as a cluster (the lab's inventory names all of them). */
export async function deployedLab(
  name: string,
  hosts: string[],
  minor: EtcdMinor = '3.4',
  init: LabInit = 'none',
  inventory: InventoryOverrides = {},
): Promise<{ lab: Lab; all: string; three: string }> {
  const lab = await Lab.up({ name, hosts, fresh: true, init, inventory });
  const tarball = await lab.etcdTarball(minor);
  const etcd = { version: tarball.version, source: tarball.path };
  const others = Object.fromEntries(hosts.slice(3).map((h) => [h, null]));
  const three = lab.writeInventory({ etcd, hosts: others }, 'three.yaml');
  const all = lab.writeInventory({ etcd }, 'all.yaml');
  assertDeployed(await deploy(three));
  return { lab, all, three };
}

/** An inventory where lab host `from` is called `to` (same address): the seed's h102 → new-h102. */
export function renamedInventory(lab: Lab, base: Record<string, unknown>, from: string, to: string): string {
  const hosts = { [from]: null, [to]: { address: lab.host(from).address } };
  return lab.writeInventory({ ...base, hosts }, `renamed-${from}-${to}.yaml`);
}

export interface Live {
  live: LiveCluster;
  members(): Promise<EtcdMember[]>;
  /** Stops or starts etcd on an inventory host through its agent. */
  service(host: string, action: 'start' | 'stop'): Promise<void>;
  waitAllHealthy(): Promise<void>;
  close(): Promise<void>;
}

/** The cluster as the tests see it: the controller's own session and tunnels (nothing else reaches the lab). */
export async function openLive(inventoryPath: string): Promise<Live> {
  const session = await openSession(await loadInventory(inventoryPath), 'silent');
  const live = new LiveCluster(session);
  return {
    live,
    members: async () => (await live.memberList()).members,
    async service(host, action) {
      await session.hosts.get(host)!.agent.call(routes.etcdService, { action }, { timeoutMs: 60_000 });
    },
    async waitAllHealthy() {
      await waitFor(async () => (await live.view()).probes.every((p) => p.health.healthy), {
        deadlineMs: 60_000,
        intervalMs: 200,
        describe: 'every member to be healthy',
      });
    },
    /** Never holds up the lab's teardown: gives up on closing after 10 s. */
    async close() {
      const closing = live.close().then(() => session.close());
      await Promise.race([closing, delay(10_000, undefined, { ref: false })]);
    },
  };
}

export const names = (members: EtcdMember[]) => members.map((m) => m.name).sort();

/**
 * Writes sequential keys and reads each back, through every member's endpoint with failover (as
 * etcd's clients do), until stopped. A write counts once etcd acknowledged it.
 */
export class SequentialWriter {
  readonly acknowledged: string[] = [];
  /** When etcd acknowledged each write (Date.now()), in the order of `acknowledged`. */
  readonly acknowledgedAt: number[] = [];
  failedWrites = 0;
  failedReads = 0;
  private running = true;
  private readonly done: Promise<void>;
  private readonly cluster: EtcdCluster;

  /** `pauseMs` between writes (0: as fast as etcd answers) leaves CPU to the change under test. */
  constructor(cluster: EtcdCluster, prefix: string, pauseMs = 0) {
    this.cluster = cluster;
    this.pauseMs = pauseMs;
    this.done = this.loop(prefix);
  }

  private readonly pauseMs: number;

  private async loop(prefix: string): Promise<void> {
    for (let i = 0; this.running; ) {
      const key = `${prefix}/${String(i).padStart(6, '0')}`;
      try {
        await this.cluster.put(key, `v${i}`);
        this.acknowledged.push(key);
        this.acknowledgedAt.push(Date.now());
        i++;
      } catch {
        this.failedWrites++;
        // A rejection can come at once (every tunnel closed): without a pause this loop would
        // starve the event loop.
        await delay(Math.max(this.pauseMs, 20));
        continue;
      }
      try {
        const kv = await this.cluster.get(key);
        if (kv?.value !== `v${i - 1}`) this.failedReads++;
      } catch {
        this.failedReads++;
      }
      if (this.pauseMs > 0) await delay(this.pauseMs);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }

  /** Resolves once `count` more writes than now are acknowledged (the cluster takes writes). */
  async acknowledgesMore(count: number, deadlineMs = 30_000): Promise<void> {
    const target = this.acknowledged.length + count;
    await waitFor(() => this.acknowledged.length >= target, {
      deadlineMs,
      intervalMs: 20,
      describe: `${count} more acknowledged writes (${this.failedWrites} failed so far)`,
    });
  }

  /** The acknowledged keys that cannot be read back now. */
  async lost(): Promise<string[]> {
    const missing: string[] = [];
    for (let i = 0; i < this.acknowledged.length; i += 50) {
      const batch = this.acknowledged.slice(i, i + 50);
      const values = await Promise.all(batch.map((k) => this.cluster.get(k)));
      values.forEach((kv, j) => {
        if (kv?.value !== `v${i + j}`) missing.push(batch[j]!);
      });
    }
    return missing;
  }
}

export function assertOk(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr.slice(-3000)}`);
}

export { spawnTskv } from './cli.ts';
export { tskv };

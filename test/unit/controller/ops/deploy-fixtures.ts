/** Plain-data hosts for the deploy planners: the seed's inventory and facts as the agent reports them. */
import { resolve } from 'node:path';
import type { FactsResponse, FirewallStateResponse } from '../../../../agent/api/index.ts';
import type { EtcdMember } from '../../../../controller/etcd/index.ts';
import { loadInventory } from '../../../../controller/inventory/load.ts';
import type { Inventory } from '../../../../controller/inventory/model.ts';
import { staticMemberId } from '../../../../controller/ops/cluster-mode.ts';
import type { HostInput } from '../../../../controller/ops/deploy-plan.ts';
import { type Exposure, wantedExposure } from '../../../../controller/ops/firewall-plan.ts';
import { clientUrl, peerUrl } from '../../../../controller/render/urls.ts';

export const SEED = resolve(import.meta.dirname, '../../../../inventories/seed.yaml');

export function seedInventory(over: (inv: Inventory) => void = () => {}): Promise<Inventory> {
  return loadInventory(SEED).then((inv) => {
    over(inv);
    return inv;
  });
}

export function facts(
  over: { installed?: string | null; hasData?: boolean; systemd?: boolean; dataOwner?: string } = {},
): FactsResponse {
  const installed = over.installed === undefined ? null : over.installed;
  return {
    hostname: 'h',
    os: { id: 'debian', versionId: '12', prettyName: 'Debian GNU/Linux 12 (bookworm)' },
    arch: 'x64',
    kernel: '6.1',
    init: { systemd: over.systemd ?? false, pid1: over.systemd ? 'systemd' : 'sh' },
    disk: {
      path: '/var/lib/etcd',
      measuredAt: '/var/lib',
      freeBytes: 50 * 1024 ** 3,
      totalBytes: 100 * 1024 ** 3,
    },
    firewall: { backend: 'firewalld', state: 'running', defaultZone: 'public' },
    etcd: {
      installed: installed === null ? null : { path: '/usr/local/bin/etcd', version: installed },
      running: [],
      dataDir: {
        path: '/var/lib/etcd',
        exists: over.hasData ?? false,
        hasData: over.hasData ?? false,
        owner: over.hasData ? (over.dataOwner ?? 'etcd:etcd') : null,
        mode: over.hasData ? 0o700 : null,
      },
      account: { uid: 102, gid: 105 },
    },
    isRoot: true,
    clockMs: 0,
  };
}

export function firewall(open: boolean): FirewallStateResponse {
  return {
    backend: 'firewalld',
    state: 'running',
    zone: 'public',
    ports: [2379, 2380].map((port) => ({
      port,
      protocol: 'tcp' as const,
      open,
      detail: open ? `port ${port}/tcp in zone public` : 'no rule in zone public',
    })),
  };
}

/** What the firewalls should let in, the members being the inventory's hosts (IP addresses there). */
export function exposureOf(inv: Inventory): Exposure {
  return wantedExposure(
    inv,
    inv.hosts.map((h) => `${h.address}/32`),
  );
}

/** A bare host: nothing installed, firewall closed, no config. */
export function bareHost(inv: Inventory, name: string): HostInput {
  return {
    spec: inv.hosts.find((h) => h.name === name)!,
    facts: facts(),
    firewall: firewall(false),
    running: false,
    pid: null,
    envFile: undefined,
    envAccess: undefined,
    unitFile: undefined,
    runsAs: undefined,
    clockProblem: undefined,
  };
}

/** The seed's hosts: name → address, in the order of its --initial-cluster. */
const SEED_ADDRESSES: Record<string, string> = {
  docker: '192.168.100.103',
  h102: '192.168.100.102',
  h104: '192.168.100.104',
};

/** The env file of a seed member bootstrapped with the seed's settings, written out (not rendered). */
function seedEnvFile(name: string): string {
  const address = SEED_ADDRESSES[name];
  if (address === undefined) throw new Error(`${name} is not a seed host`);
  return `# etcd settings for member ${name} (rendered by tskv).
# etcd reads these ETCD_* variables; give no setting also as a flag (etcd refuses to start).
ETCD_NAME="${name}"
ETCD_INITIAL_ADVERTISE_PEER_URLS="http://${address}:2380"
ETCD_LISTEN_PEER_URLS="http://${address}:2380"
ETCD_LISTEN_CLIENT_URLS="http://${address}:2379,http://127.0.0.1:2379"
ETCD_ADVERTISE_CLIENT_URLS="http://${address}:2379"
ETCD_INITIAL_CLUSTER_TOKEN="etcd-cluster-test"
ETCD_INITIAL_CLUSTER="docker=http://192.168.100.103:2380,h102=http://192.168.100.102:2380,h104=http://192.168.100.104:2380"
ETCD_INITIAL_CLUSTER_STATE="new"
ETCD_DATA_DIR="/var/lib/etcd/${name}.etcd"
`;
}

/**
 * A host of a converged seed cluster (`inv` as seed.yaml has it): etcd installed and running with
 * the env file the seed's settings give, as written out above.
 */
export function convergedHost(inv: Inventory, name: string, pid = 100): HostInput {
  return {
    ...bareHost(inv, name),
    facts: facts({ installed: inv.etcd.version, hasData: true }),
    firewall: firewall(true),
    running: true,
    pid,
    envFile: seedEnvFile(name),
    envAccess: { mode: 0o640, owner: 'root:etcd' },
    runsAs: 'etcd',
  };
}

/**
 * A member as the v3 list shows it, with the ID a static bootstrap gives it. 'late': a bootstrap
 * member that has not started yet (etcd knows its name from --initial-cluster, no client URLs);
 * 'added': added by member add, never started (no name either).
 */
export function member(
  inv: Inventory,
  name: string,
  state: 'started' | 'late' | 'added' = 'started',
): EtcdMember {
  const h = inv.hosts.find((x) => x.name === name)!;
  const id = staticMemberId([peerUrl(h, inv)], inv.cluster.token);
  return {
    id,
    idHex: BigInt(id).toString(16),
    name: state === 'added' ? '' : name,
    peerURLs: [peerUrl(h, inv)],
    clientURLs: state === 'started' ? [clientUrl(h, inv)] : [],
    isLearner: false,
    started: state !== 'added',
  };
}

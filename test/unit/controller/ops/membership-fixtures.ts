/** Plain-data clusters and inventories for the membership planners' tests (the seed's addresses). */

import type { EtcdMember } from '../../../../controller/etcd/index.ts';
import { hexToId, idToHex } from '../../../../controller/etcd/index.ts';
import { parseInventory } from '../../../../controller/inventory/load.ts';
import type { Inventory } from '../../../../controller/inventory/model.ts';
import type { ClusterView, MemberHealth } from '../../../../controller/ops/cluster-view.ts';

export const ADDRESSES: Record<string, string> = {
  h102: '192.168.100.102',
  'new-h102': '192.168.100.102',
  docker: '192.168.100.103',
  h104: '192.168.100.104',
  h105: '192.168.100.105',
  h106: '192.168.100.106',
};

/** An inventory with these hosts (addresses from ADDRESSES). */
export function inventory(hosts: string[], options: { tls?: boolean } = {}): Inventory {
  const lines = hosts.map((h) => `  ${h}: { address: ${ADDRESSES[h]} }`);
  const yaml = `cluster: { token: t }
${options.tls ? 'tls: { mode: auto, dir: /srv/pki }\n' : ''}etcd: { version: 3.4.23, source: /tmp/etcd-v3.4.23-linux-amd64.tar.gz }
ssh: { identityFile: /tmp/key, knownHosts: /tmp/known_hosts }
hosts:
${lines.join('\n')}
`;
  return parseInventory(yaml, '/srv/inv.yaml');
}

/** The seed's IDs (etcdctl's hex), and made-up ones for the hosts it never had. */
const HEX_IDS: Record<string, string> = {
  h102: '84099faad6d56427',
  docker: '940f6e83e019a03f',
  h104: '1b80a88a471eb4b8',
  'new-h102': 'cdc1e5e338e27adc',
  h105: '105105105105',
  h106: '106106106106',
};

export interface MemberOptions {
  learner?: boolean;
  unstarted?: boolean;
  /** Peer address, when it is not ADDRESSES[name]. */
  address?: string;
}

export function member(name: string, options: MemberOptions = {}): EtcdMember {
  const id = hexToId(HEX_IDS[name] ?? '42');
  const address = options.address ?? ADDRESSES[name];
  return {
    id,
    idHex: idToHex(id),
    name: options.unstarted ? '' : name,
    peerURLs: [`http://${address}:2380`],
    clientURLs: options.unstarted ? [] : [`http://${address}:2379`],
    isLearner: options.learner ?? false,
    started: !options.unstarted,
  };
}

export const healthy = (raftIndex = 100): MemberHealth => ({
  reachable: true,
  healthy: true,
  raftIndex,
  raftAppliedIndex: raftIndex,
  detail: 'healthy',
});

export const down: MemberHealth = {
  reachable: false,
  healthy: false,
  raftIndex: undefined,
  raftAppliedIndex: undefined,
  detail: 'unreachable: cannot connect (ECONNREFUSED)',
};

/** A view where every member is healthy unless listed in `sick`; `leader` names the leader (default: the first). */
export function view(
  members: EtcdMember[],
  options: { sick?: string[]; leader?: string | null } = {},
): ClusterView {
  const sick = new Set(options.sick ?? []);
  const health = new Map(members.map((m) => [m.id, sick.has(m.name || m.idHex) ? down : healthy()]));
  const leaderName = options.leader === undefined ? members[0]?.name : options.leader;
  const leader = members.find((m) => m.name === leaderName);
  return { members, health, leaderId: leader?.id };
}

export const seedMembers = (): EtcdMember[] => [member('h102'), member('docker'), member('h104')];

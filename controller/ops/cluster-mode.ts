/**
 * New cluster or existing one? Decided from the live member list and the hosts' data dirs, never
 * from a flag. Membership disagreements the inventory explains (hosts added, members whose hosts
 * left it) become deploy's adds and removes (ops/scale-plan.ts); the others are refused here
 * (`tskv replace` / `tskv member` resolve them). Pure.
 */
import { createHash } from 'node:crypto';
import { type ErrorCode, TskvError } from '../errors.ts';
import type { EtcdMember } from '../etcd/index.ts';
import type { Inventory } from '../inventory/model.ts';
import { type DriftProblem, formatDrift, memberOf } from './membership.ts';
import { explainDrift, type ScaleDrift } from './scale-plan.ts';

export type ClusterMode =
  /** No member anywhere: bootstrap with --initial-cluster-state new, all members started together. */
  | { kind: 'new' }
  /** Live members equal the inventory: converge config, start stopped members, restart changed ones one at a time. */
  | { kind: 'existing'; source: 'live' | 'stopped-with-data' };

export interface HostRuntime {
  name: string;
  /** etcd runs under tskv's service (systemd unit or the agent's supervisor). */
  running: boolean;
  /** The data dir holds member data. */
  hasData: boolean;
  /** etcd processes running outside the service (started by hand). */
  strayPids: number[];
  /**
   * Another data dir, named by the host's env file (what its etcd last ran with), that holds
   * member data: the inventory's dataDir changed since.
   */
  dataElsewhere?: string;
}

export interface ClusterDecision {
  mode: ClusterMode;
  /** Each inventory host's live member (by peer URL), when the cluster is up. */
  memberByHost: Map<string, EtcdMember>;
  /** Running cluster: the membership changes the inventory explains (hosts joining, members leaving). */
  scale?: ScaleDrift;
}

function refuse(code: ErrorCode, message: string, fix: string): never {
  throw new TskvError(code, message, { step: 'membership', fix });
}

const list = (xs: string[]) => xs.join(', ');

/**
 * The ID etcd gives a member of a static bootstrap: the first 8 bytes (big-endian) of
 * sha1(sorted peer URLs + --initial-cluster-token). Members added later also hash the time, so an
 * unstarted member with this ID is one of the bootstrap's own that has not started yet: it may
 * still start with --initial-cluster-state new (its peers computed the same cluster).
 */
export function staticMemberId(peerURLs: string[], token: string): string {
  const hash = createHash('sha1')
    .update([...peerURLs].sort().join('') + token)
    .digest();
  return hash.readBigUInt64BE(0).toString();
}

/**
 * The member has run at least once: it published its client URLs. (Members of a static bootstrap
 * carry their names from --initial-cluster before they ever start, so the name does not tell.)
 */
export function hasRun(m: EtcdMember | undefined): boolean {
  return m !== undefined && m.clientURLs.length > 0;
}

/**
 * A stopped member's data dir cannot move by editing the inventory: etcd would start empty at the
 * new path (a new cluster over the old one's IDs, or a member that lost its log), its data left
 * behind where the host's env file still points.
 */
function refuseMovedDataDirs(inv: Inventory, stopped: HostRuntime[]): void {
  const moved = stopped.filter((h) => h.dataElsewhere !== undefined && !h.hasData);
  if (moved.length === 0) return;
  const h = moved[0]!;
  const want = inv.hosts.find((x) => x.name === h.name)?.dataDir;
  refuse(
    'E_DATA_DIR_CHANGED',
    `${list(moved.map((m) => `${m.name} keeps its etcd data in ${m.dataElsewhere}`))}, but the inventory's dataDir is ${want} (empty there): deploy would start an empty member over it`,
    `put etcd.dataDir back to ${h.dataElsewhere} in ${inv.file}, or stop etcd on ${h.name}, move ${h.dataElsewhere} to ${want} yourself, and re-run deploy`,
  );
}

function decideLive(inv: Inventory, hosts: HostRuntime[], members: EtcdMember[]): ClusterDecision {
  const memberByHost = new Map<string, EtcdMember>();
  for (const h of inv.hosts) {
    const m = memberOf(inv, members, h);
    if (m) memberByHost.set(h.name, m);
  }
  // A bootstrap member that never started is deploy's to start (the re-run after a failed start).
  const late = (m: EtcdMember) => m.id === staticMemberId(m.peerURLs, inv.cluster.token);
  const lateBootstrapMember = (p: DriftProblem) => {
    const m = p.kind === 'unstarted' && p.host !== undefined ? memberByHost.get(p.host) : undefined;
    return m !== undefined && late(m);
  };
  // Hosts added to the inventory join, members whose host left it leave (ops/scale-plan.ts).
  const { scale, problems } = explainDrift(inv, members, late);
  const drift = problems.filter((p) => !lateBootstrapMember(p));
  if (drift.length > 0) {
    throw new TskvError(
      'E_MEMBERSHIP',
      `the cluster and the inventory disagree in a way deploy does not resolve by adding or removing members:\n${formatDrift(drift)}`,
      {
        step: 'membership',
        fix: 'run the commands above (tskv replace / tskv member), or correct the inventory',
      },
    );
  }
  // Running without data at the inventory's dataDir: the inventory moved the data dir. A restart
  // would start the member on an empty dir under its old ID, which loses its raft log and votes.
  const moved = hosts.filter((h) => h.running && !h.hasData && hasRun(memberByHost.get(h.name)));
  if (moved.length > 0) {
    refuse(
      'E_DATA_DIR_CHANGED',
      `${list(moved.map((h) => h.name))}: etcd runs, but there is no member data at the inventory's dataDir (${inv.hosts.find((h) => h.name === moved[0]!.name)?.dataDir}); a member's data dir cannot change in place`,
      `put the running data dir back in the inventory (etcd.dataDir), or replace the member: tskv member remove ${inv.file} ${moved[0]!.name} --yes, then tskv member add ${inv.file} ${moved[0]!.name} --start`,
    );
  }
  const stopped = hosts.filter((h) => !h.running && hasRun(memberByHost.get(h.name)));
  refuseMovedDataDirs(inv, stopped);
  const wiped = stopped.filter((h) => !h.hasData);
  if (wiped.length > 0) {
    refuse(
      'E_MEMBER_NO_DATA',
      `${list(wiped.map((h) => h.name))}: a started member whose host has no data dir any more`,
      `bring it back as a new member: tskv member remove ${inv.file} ${wiped[0]!.name} --yes, then tskv member add ${inv.file} ${wiped[0]!.name} --start`,
    );
  }
  return { mode: { kind: 'existing', source: 'live' }, memberByHost, scale };
}

export function decideClusterMode(
  inv: Inventory,
  hosts: HostRuntime[],
  members: EtcdMember[] | undefined,
  options: { allowExistingData: boolean },
): ClusterDecision {
  const stray = hosts.filter((h) => h.strayPids.length > 0 && !h.running);
  if (stray.length > 0) {
    refuse(
      'E_STRAY_ETCD',
      `etcd runs outside tskv's control on ${list(stray.map((h) => `${h.name} (pid ${h.strayPids.join(',')})`))}`,
      'stop it (tskv manages etcd as a systemd unit, or under its agent where systemd does not run)',
    );
  }
  const running = hosts.filter((h) => h.running).map((h) => h.name);
  if (members !== undefined) return decideLive(inv, hosts, members);
  refuseMovedDataDirs(
    inv,
    hosts.filter((h) => !h.running),
  );
  if (running.length > 0) {
    refuse(
      'E_CLUSTER_UNKNOWN',
      `etcd runs on ${list(running)} but no member answered the member list`,
      'check the members with tskv status and their logs; deploy decides new vs existing only from a live member list',
    );
  }
  const withData = hosts.filter((h) => h.hasData).map((h) => h.name);
  if (withData.length === 0) return { mode: { kind: 'new' }, memberByHost: new Map() };
  if (withData.length === hosts.length && options.allowExistingData) {
    return { mode: { kind: 'existing', source: 'stopped-with-data' }, memberByHost: new Map() };
  }
  const without = hosts.filter((h) => !h.hasData).map((h) => h.name);
  return refuse(
    'E_EXISTING_DATA',
    `no member is running, and ${list(withData)} ${withData.length > 1 ? 'hold' : 'holds'} etcd data${without.length ? ` (${list(without)} ${without.length > 1 ? 'do' : 'does'} not)` : ''}`,
    without.length
      ? 'a stopped cluster with members missing cannot be restarted by deploy; move stray data dirs aside or restore from a snapshot'
      : 're-run with --allow-existing-data to start the stopped cluster from its data',
  );
}

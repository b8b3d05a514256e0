/**
 * Proof that the cluster is what the inventory says: every member healthy, exactly one leader, the
 * member list equal to the inventory (names, peer and client URLs), and a key written through one
 * member read back through every other (the seed's "简单测试"), then removed.
 */
import { randomBytes } from 'node:crypto';
import { TskvError } from '../errors.ts';
import { EtcdCluster, type EtcdMember } from '../etcd/index.ts';
import type { Inventory } from '../inventory/model.ts';
import { minorOfVersion } from '../ops/upgrade-plan.ts';
import { clientUrl, peerUrl } from '../render/urls.ts';
import { waitFor } from '../wait.ts';
import type { LiveCluster } from './live-cluster.ts';

export interface VerifiedMember {
  host: string;
  id: string;
  idHex: string;
  version: string;
  leader: boolean;
}

export interface VerifyReport {
  members: VerifiedMember[];
  leader: string;
  /** /version's etcdcluster once it reached the inventory's minor version ("3.5.0"). */
  clusterVersion: string;
  /** The key written through `writtenVia` and read back through every other member. */
  key: { name: string; writtenVia: string; readVia: string[] };
}

const DEADLINE_MS = 10_000;
/** etcd's leader raises the cluster version a few seconds after the last member upgrades. */
const CLUSTER_VERSION_DEADLINE_MS = 30_000;

/**
 * The cluster version once it is the inventory's minor version: after a rolling upgrade etcd moves
 * it on its own a few seconds after the last member runs the new version (and a new cluster
 * decides it just after it starts).
 */
async function waitClusterVersion(live: LiveCluster, version: string): Promise<string> {
  const want = minorOfVersion(version);
  let seen: string | undefined;
  await waitFor(
    async () => {
      seen = await live.clusterVersion();
      return seen !== undefined && minorOfVersion(seen) === want;
    },
    {
      deadlineMs: CLUSTER_VERSION_DEADLINE_MS,
      intervalMs: 250,
      describe: `the cluster version to become ${want}`,
    },
  ).catch(() => {
    throw new TskvError(
      'E_CLUSTER_VERSION',
      `every member runs etcd ${version}, but the cluster version is ${seen ?? 'unknown (no member answered /version)'}, not ${want}, after ${CLUSTER_VERSION_DEADLINE_MS / 1000}s`,
      { step: 'verify', fix: 'see tskv status and the member logs; re-run deploy to check again' },
    );
  });
  return seen!;
}

function fail(message: string, fix?: string): never {
  throw new TskvError('E_VERIFY', message, { step: 'verify', ...(fix ? { fix } : {}) });
}

/** Differences between the live member list and the inventory, one line each ([] when equal). */
export function memberListDiff(inv: Inventory, members: EtcdMember[]): string[] {
  const out: string[] = [];
  for (const h of inv.hosts) {
    const m = members.find((x) => x.name === h.name);
    if (!m) {
      out.push(`${h.name}: not a started member`);
      continue;
    }
    const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    if (!same(m.peerURLs, [peerUrl(h, inv)]))
      out.push(`${h.name}: peer URLs ${m.peerURLs.join(',')}, want ${peerUrl(h, inv)}`);
    if (!same(m.clientURLs, [clientUrl(h, inv)]))
      out.push(`${h.name}: client URLs ${m.clientURLs.join(',') || '(none)'}, want ${clientUrl(h, inv)}`);
    if (m.isLearner) out.push(`${h.name}: is a learner`);
  }
  for (const m of members) {
    if (!inv.hosts.some((h) => h.name === m.name))
      out.push(`${m.name || '(unstarted)'} ${m.idHex}: not in the inventory`);
  }
  return out;
}

export async function verifyCluster(live: LiveCluster): Promise<VerifyReport> {
  const inv = live.session.inventory;
  const cluster = new EtcdCluster(
    inv.hosts.map((h) => live.endpoint(h.name)!),
    { timeoutMs: 3000 },
  );
  // Health, member list and status are independent reads: one round trip instead of three.
  const [health, firstList, firstStatuses] = await Promise.all([
    cluster.healthAll(),
    cluster.memberList().then(
      (r) => r.members,
      () => undefined,
    ),
    cluster.statusAll(),
  ]);
  const sick = health.filter((h) => !h.ok || !h.value.healthy);
  if (sick.length > 0) {
    fail(
      `not healthy: ${sick.map((h) => `${h.endpoint} (${h.ok ? (h.value.reason ?? '/health false') : h.error.message})`).join(', ')}`,
      'see tskv status and the member logs',
    );
  }
  // Members publish their name and client URLs just after they join: allow them a moment.
  let members: EtcdMember[] = firstList ?? [];
  let statuses = firstStatuses;
  if (firstList === undefined || memberListDiff(inv, firstList).length > 0) {
    await waitFor(
      async () => {
        members = (await cluster.memberList()).members;
        return memberListDiff(inv, members).length === 0;
      },
      { deadlineMs: DEADLINE_MS, intervalMs: 200, describe: 'the member list to equal the inventory' },
    ).catch(() =>
      fail(`the member list differs from the inventory: ${memberListDiff(inv, members).join('; ')}`),
    );
    statuses = await cluster.statusAll();
  }
  const down = statuses.filter((s) => !s.ok);
  if (down.length > 0) fail(`no status from ${down.map((s) => s.endpoint).join(', ')}`);
  const ok = statuses.flatMap((s) => (s.ok ? [s.value] : []));
  const leaders = ok.filter((s) => s.isLeader);
  const leaderIds = new Set(ok.map((s) => s.leaderId));
  if (leaders.length !== 1 || leaderIds.size !== 1) {
    fail(
      `expected exactly one leader, found ${leaders.length} (${leaders.map((s) => s.endpoint).join(', ') || 'none'}; members see ${[...leaderIds].join(', ')})`,
    );
  }
  const key = `tskv/deploy-verify/${randomBytes(6).toString('hex')}`;
  const value = `简单测试 ${new Date().toISOString()}`;
  const [first, ...rest] = cluster.clients;
  await first!.put(key, value);
  try {
    const reads = await Promise.all(rest.map(async (c) => ({ c, got: await c.get(key) })));
    for (const { c, got } of reads) {
      if (got?.value !== value)
        fail(
          `${key} written through ${first!.name} reads back as ${JSON.stringify(got?.value)} through ${c.name}`,
        );
    }
  } finally {
    await first!.deleteKey(key).catch(() => undefined);
  }
  return {
    members: ok.map((s) => {
      const m = members.find((x) => x.id === s.memberId);
      return {
        host: s.endpoint,
        id: s.memberId,
        idHex: m?.idHex ?? '',
        version: s.version,
        leader: s.isLeader,
      };
    }),
    leader: leaders[0]!.endpoint,
    clusterVersion: await waitClusterVersion(live, inv.etcd.version),
    key: { name: key, writtenVia: first!.name, readVia: rest.map((c) => c.name) },
  };
}

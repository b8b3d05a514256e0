/**
 * Scaling by editing the inventory: which drift between the live member list and the inventory the
 * inventory explains (hosts added to it join, members at addresses no host has leave), and deploy's
 * steps for it: per joining host, one at a time, add it as a learner, start it, wait until it caught
 * up, promote it; per leaving member, one at a time (the leader last), move leadership away, remove
 * it, retire its host. Refuses a removal that would leave no healthy majority. Pure.
 */
import { z } from 'zod';
import { TskvError } from '../errors.ts';
import { type EtcdId, type EtcdMember, idToHex } from '../etcd/index.ts';
import type { Inventory } from '../inventory/model.ts';
import { dataDirOf } from '../inventory/normalise.ts';
import { tlsOn } from '../inventory/tls.ts';
import type { Step } from '../plan/plan.ts';
import { peerUrl } from '../render/urls.ts';
import { type ClusterView, isHealthy, quorumOf, voters } from './cluster-view.ts';
import { type DriftProblem, hostAt, memberAt, membershipDrift } from './membership.ts';

/** An inventory host that is not a voting member yet; `member` when an earlier run added it (unstarted, or a learner). */
export interface Join {
  host: string;
  member?: EtcdMember;
}

/** What the inventory explains of the drift: hosts that join, members that leave. */
export interface ScaleDrift {
  joins: Join[];
  leaves: EtcdMember[];
}

export const noScale = (d: ScaleDrift | undefined): boolean =>
  d === undefined || (d.joins.length === 0 && d.leaves.length === 0);

/** A leaving member's host (no inventory host has its address): where it runs, to retire it. */
export interface LeavingHost {
  name: string;
  address: string;
  /** Removed from the cluster by an earlier run; only its host is left to retire. */
  removed?: boolean;
}

/** Where deploy records the members it removes until their hosts are retired (a re-run finishes them). */
export const LEAVING_KEY = '__tskv/scale-leaving';

export const leavingRecordSchema = z.array(
  z.object({ name: z.string(), address: z.string(), dataDirs: z.array(z.string()) }),
);
/** Removed (or being removed) members whose hosts are not retired yet. */
export type LeavingRecord = z.infer<typeof leavingRecordSchema>;

/** deploy's membership steps; `host` is the joining host, or the leaving member's name. */
export type ScaleStep = Step & { host: string } & (
    | { kind: 'member-add'; peerURLs: string[] }
    | { kind: 'member-start' }
    | { kind: 'member-caught-up' }
    | { kind: 'member-promote' }
    /** A leaving member's host lets the joining hosts in on its peer port (ssh to `address`). */
    | { kind: 'member-let-in'; address: string }
    | { kind: 'member-lead-away'; id: EtcdId }
    /** Recorded (LEAVING_KEY) with its host's address and data dirs first, so a re-run retires its host. */
    | { kind: 'member-remove'; id: EtcdId; address: string; dataDirs: string[] }
    /** Stop etcd on the leaving member's host and move its data dirs aside (ssh to `address`). */
    | { kind: 'member-retire'; address: string; dataDirs: string[] }
  );

const SCALE_KINDS = new Set<string>([
  'member-add',
  'member-start',
  'member-caught-up',
  'member-promote',
  'member-let-in',
  'member-lead-away',
  'member-remove',
  'member-retire',
]);

export const isScaleStep = (s: Step): s is ScaleStep => SCALE_KINDS.has(s.kind);

/** The address of a member's first peer URL (brackets of IPv6 dropped). */
export function peerAddress(m: EtcdMember): string | undefined {
  try {
    return new URL(m.peerURLs[0] ?? '').hostname.replace(/^\[(.*)\]$/, '$1') || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Splits the drift into what the inventory explains and what it does not. Leaving: a started voter
 * whose name and address no inventory host has. Joining: an inventory host with no member at its
 * address, or one an earlier run added (never started and not a bootstrap member: `late` tells; or
 * a started learner under the host's name). Everything else (renamed members, a peer URL that
 * differs, learners or unstarted members the inventory does not name) stays a problem.
 */
export function explainDrift(
  inv: Inventory,
  members: EtcdMember[],
  late: (m: EtcdMember) => boolean,
): { scale: ScaleDrift; problems: DriftProblem[] } {
  const leaves = members.filter(
    (m) => m.started && !m.isLearner && !inv.hosts.some((h) => h.name === m.name) && !hostAt(inv, m),
  );
  const kept = members.filter((m) => !leaves.includes(m));
  const joins: Join[] = [];
  const explained = new Set<string>();
  for (const h of inv.hosts) {
    const m = memberAt(inv, kept, h);
    if (!m) {
      joins.push({ host: h.name });
      explained.add(`host-not-member:${h.name}`);
    } else if (!m.started && !late(m)) {
      joins.push({ host: h.name, member: m });
      explained.add(`unstarted:${h.name}`);
    } else if (m.started && m.isLearner && m.name === h.name) {
      joins.push({ host: h.name, member: m });
      explained.add(`learner:${h.name}`);
    }
  }
  const problems = membershipDrift(inv, kept).filter((p) => !explained.has(`${p.kind}:${p.host}`));
  // etcd allows one learner at a time: the one an earlier run added goes first.
  joins.sort((a, b) => Number(b.member !== undefined) - Number(a.member !== undefined));
  return { scale: { joins, leaves }, problems };
}

export interface ScaleInput {
  inv: Inventory;
  drift: ScaleDrift;
  /** Members, their health and the leader when the plan is made. */
  view: ClusterView;
  /** Inventory hosts whose etcd service runs. */
  running: ReadonlySet<string>;
  /** Recorded leaving members (LEAVING_KEY); those no longer members get their hosts retired. */
  recorded?: LeavingRecord;
}

/**
 * Recorded leaving members that are no longer members (a run killed between a removal and its
 * host's retirement), and whose address no inventory host has again.
 */
export function leftovers(inv: Inventory, recorded: LeavingRecord, members: EtcdMember[]): LeavingRecord {
  return recorded.filter(
    (r) =>
      !members.some((m) => m.name === r.name && peerAddress(m) === r.address) &&
      !inv.hosts.some((h) => h.address === r.address),
  );
}

export interface ScalePlan {
  adds: ScaleStep[];
  removes: ScaleStep[];
  /** Joining hosts and leaving members, in the order they change. */
  adding: string[];
  removing: string[];
  /** The leaving members' hosts (retired after their removal). */
  leaving: LeavingHost[];
  warnings: string[];
}

/** What a cluster of `n` members is warned about: an even size, more than etcd recommends. */
export function sizeWarnings(n: number): string[] {
  return [
    ...(n % 2 === 0 && n > 0
      ? [
          `${n} members tolerate no more failures than ${n - 1} (${Math.floor((n - 1) / 2)} either way): an odd number of members is better`,
        ]
      : []),
    ...(n > 7
      ? [
          `${n} members: etcd recommends at most 7 (more members slow every write, which a majority must acknowledge, and raise the chance of failures)`,
        ]
      : []),
  ];
}

function joinSteps(inv: Inventory, j: Join, running: boolean): ScaleStep[] {
  const host = j.host;
  const spec = inv.hosts.find((h) => h.name === host)!;
  const url = peerUrl(spec, inv);
  const m = j.member;
  return [
    ...(m
      ? []
      : [
          {
            kind: 'member-add' as const,
            host,
            peerURLs: [url],
            title: `add ${host} (${url}) to the cluster as a learner`,
          },
        ]),
    ...(m?.started && running
      ? []
      : [
          {
            kind: 'member-start' as const,
            host,
            title: `write ${host}'s config (initial-cluster-state existing, the live member list) and start etcd`,
          },
        ]),
    {
      kind: 'member-caught-up',
      host,
      title: `wait until ${host} has started and caught up with the leader's raft index`,
    },
    ...(m && !m.isLearner
      ? []
      : [{ kind: 'member-promote' as const, host, title: `promote ${host} to a voting member` }]),
  ];
}

/**
 * With TLS on, a member's firewall lets in only the members on its peer port, and deploy opens
 * the firewalls of the inventory's hosts only: a leaving member's host, which the inventory no
 * longer names, must let the joining hosts in itself. Otherwise the joiners cannot reach it, it
 * counts as not connected to them, and etcd refuses the next membership change as "unhealthy
 * cluster" whenever that member is asked.
 */
function letInStep(m: EtcdMember, joining: string[]): ScaleStep {
  const address = peerAddress(m) ?? '';
  return {
    kind: 'member-let-in',
    host: m.name,
    address,
    title: `let ${joining.join(', ')} in on ${m.name}'s firewall (${address}, over SSH): it serves beside them until it leaves`,
  };
}

function retireStep(host: string, address: string, dataDirs: string[]): ScaleStep {
  return {
    kind: 'member-retire',
    host,
    address,
    dataDirs,
    title: `stop etcd on ${host} (${address}, over SSH) and move ${dataDirs.join(', ')} aside (never deleted)`,
  };
}

function leaveSteps(inv: Inventory, m: EtcdMember, leads: boolean): ScaleStep[] {
  const host = m.name;
  const address = peerAddress(m) ?? '';
  const dataDirs = [dataDirOf(inv.hosts[0]!.dataDirTemplate, m.name)];
  return [
    {
      kind: 'member-lead-away',
      host,
      id: m.id,
      title: leads
        ? `move leadership from ${host} (it leads) to another healthy voter`
        : `move leadership away from ${host} if it leads by then`,
    },
    {
      kind: 'member-remove',
      host,
      id: m.id,
      address,
      dataDirs,
      title: `remove ${host} (${idToHex(m.id)}) from the cluster`,
    },
    retireStep(host, address, dataDirs),
  ];
}

/**
 * Each removal keeps a healthy majority of the voters left (the joined hosts count: they are
 * healthy voters by then), or the plan is refused before anything changes.
 */
function refuseLosingMajority(view: ClusterView, drift: ScaleDrift, order: EtcdMember[]): void {
  const joined = drift.joins.length;
  const gone = new Set<EtcdId>();
  for (const m of order) {
    gone.add(m.id);
    const left = voters(view.members).filter(
      (v) => !gone.has(v.id) && !drift.joins.some((j) => j.member === v),
    );
    const total = left.length + joined;
    const healthy = left.filter((v) => isHealthy(view, v)).length + joined;
    if (healthy < quorumOf(total)) {
      const sick = left.filter((v) => !isHealthy(view, v)).map((v) => v.name || v.idHex);
      throw new TskvError(
        'E_REFUSED',
        `removing ${m.name} would leave ${healthy} healthy of ${total} voting members, short of a majority of ${quorumOf(total)}${sick.length ? ` (not healthy: ${sick.join(', ')})` : ''}; nothing was changed`,
        {
          step: 'plan',
          fix: 'bring the unhealthy members back first (tskv status shows them), or remove fewer hosts from the inventory',
        },
      );
    }
  }
}

/**
 * Just before a removal, on the cluster as it is then (the adds and restarts before it have run):
 * the voters left keep a healthy majority, or the removal waits, naming who is not healthy.
 */
export function checkRemovalNow(view: ClusterView, id: EtcdId, name: string): void {
  const left = voters(view.members).filter((v) => v.id !== id);
  const healthy = left.filter((v) => isHealthy(view, v)).length;
  if (healthy >= quorumOf(left.length)) return;
  const sick = left.filter((v) => !isHealthy(view, v)).map((v) => v.name || v.idHex);
  throw new TskvError(
    'E_UNHEALTHY',
    `not removing ${name} now: ${healthy} of the ${left.length} voting members left would be healthy, short of a majority of ${quorumOf(left.length)} (not healthy: ${sick.join(', ')})`,
    {
      host: name,
      step: 'remove member',
      fix: 'bring them back first (tskv status shows them), then re-run deploy: it resumes',
    },
  );
}

export function planScale(input: ScaleInput): ScalePlan {
  const { inv, drift, view } = input;
  // The leader leaves last: leadership moves once, and the others leave under a stable leader.
  const order = [...drift.leaves].sort(
    (a, b) => Number(a.id === view.leaderId) - Number(b.id === view.leaderId),
  );
  refuseLosingMajority(view, drift, order);
  const changes = drift.joins.length + drift.leaves.length > 0;
  const left = leftovers(inv, input.recorded ?? [], view.members);
  return {
    adds: [
      ...(drift.joins.length > 0 && tlsOn(inv)
        ? order.map((m) =>
            letInStep(
              m,
              drift.joins.map((j) => j.host),
            ),
          )
        : []),
      ...drift.joins.flatMap((j) => joinSteps(inv, j, input.running.has(j.host))),
    ],
    removes: [
      ...left.map((r) => retireStep(r.name, r.address, r.dataDirs)),
      ...order.flatMap((m) => leaveSteps(inv, m, m.id === view.leaderId)),
    ],
    adding: drift.joins.map((j) => j.host),
    removing: order.map((m) => m.name),
    leaving: [
      ...left.map((r) => ({ name: r.name, address: r.address, removed: true })),
      ...order.map((m) => ({ name: m.name, address: peerAddress(m) ?? '' })),
    ],
    warnings: changes ? sizeWarnings(inv.hosts.length) : [],
  };
}

/** The line the plan prints about the order of a membership change, and why. */
export function orderNote(p: {
  snapshot: boolean;
  adding: string[];
  restarts: string[];
  removing: string[];
}): string | undefined {
  if (p.adding.length + p.removing.length === 0) return undefined;
  const parts = [
    ...(p.snapshot ? ['snapshot'] : []),
    ...(p.adding.length ? [`add ${p.adding.join(', ')} (one at a time: learner, caught up, promoted)`] : []),
    ...(p.restarts.length ? [`restart ${p.restarts.join(', ')}`] : []),
    ...(p.removing.length ? [`remove ${p.removing.join(', ')} (one at a time, the leader last)`] : []),
  ];
  const why = [
    ...(p.adding.length
      ? ['adding first keeps the cluster larger (it tolerates more failures) while members restart']
      : []),
    ...(p.removing.length ? ['removing last means no member leaves before the ones joining serve'] : []),
  ];
  return `order: ${parts.join(' → ')}; ${why.join('; ')}`;
}

/**
 * A running cluster's version change, judged on the cluster as a whole before anything changes:
 * what the members run, whether the inventory's version is a step etcd supports from there, and
 * whether the cluster is fit to roll (every member healthy, no learners). Pure.
 */
import { TskvError } from '../errors.ts';
import { checkVersionChange } from './install.ts';

/** One live member as a version change sees it. */
export interface MemberVersion {
  /** Its inventory host, else its member name. */
  host: string;
  /** What it runs (its /v3/maintenance/status), else what its host has installed; undefined: unknown. */
  version: string | undefined;
  healthy: boolean;
  learner: boolean;
  /** Why it is not healthy. */
  detail: string;
}

/** A rolling version change: every member moves from `from` to `to`, one at a time. */
export interface Upgrade {
  from: string;
  to: string;
}

/** A live member's probe, as much of it as a version change needs (plays/live-cluster.ts MemberProbe). */
export interface ProbedMember {
  member: { name: string; idHex: string; isLearner: boolean };
  host: string | undefined;
  health: { healthy: boolean; detail: string };
  status?: { version: string } | undefined;
}

/**
 * Each live member's version: what it says it runs, else (it does not answer) what its host has
 * installed (`installed`, by host).
 */
export function memberVersions(
  probes: ProbedMember[],
  installed: ReadonlyMap<string, string>,
): MemberVersion[] {
  return probes.map((p) => ({
    host: p.host ?? (p.member.name || p.member.idHex),
    version: p.status?.version ?? (p.host ? installed.get(p.host) : undefined),
    healthy: p.health.healthy,
    learner: p.member.isLearner,
    detail: p.health.detail,
  }));
}

/** "3.5" of "3.5.17". */
export function minorOfVersion(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

/**
 * The rolling change the inventory's `target` asks of the live members, or undefined when every
 * member runs it already. Refused (before anything changes): members on more than one version the
 * inventory does not explain, a skipped minor or a minor downgrade, and any change while a member
 * is not healthy or is a learner.
 */
export function judgeUpgrade(
  target: string,
  members: MemberVersion[],
  /** Members (by host) the same inventory edit adds or removes: their health is for those steps to judge. */
  changing: ReadonlySet<string> = new Set(),
): Upgrade | undefined {
  const others = [...new Set(members.flatMap((m) => (m.version && m.version !== target ? [m.version] : [])))];
  if (others.length === 0) return undefined;
  if (others.length > 1) {
    const runs = others.map(
      (v) =>
        `${v} (${members
          .filter((m) => m.version === v)
          .map((m) => m.host)
          .join(', ')})`,
    );
    throw new TskvError(
      'E_MIXED_VERSIONS',
      `the members run etcd ${runs.join(' and ')}, and the inventory says ${target}: tskv moves a cluster from one version to one other; nothing was changed`,
      {
        step: 'plan',
        fix: `set etcd.version to the version most members run and deploy that first (tskv status shows each member's version), then change it to ${target}`,
      },
    );
  }
  const from = others[0]!;
  checkVersionChange(members.find((m) => m.version === from)!.host, from, target);
  const unfit = members.filter((m) => !changing.has(m.host) && (!m.healthy || m.learner));
  if (unfit.length > 0) {
    throw new TskvError(
      'E_UNHEALTHY',
      `not changing etcd ${from} → ${target}: ${unfit.map((m) => `${m.host} (${m.learner ? 'a learner' : m.detail})`).join(', ')}; a version change rolls only over a fully healthy cluster; nothing was changed`,
      {
        step: 'plan',
        fix: 'bring every member back and finish membership changes first (tskv status), then re-run',
      },
    );
  }
  return { from, to: target };
}

/** The plan's line: what the roll does and in which order. */
export function upgradeLine(u: Upgrade): string {
  return `upgrade etcd ${u.from} → ${u.to}: followers first, the leader last after moving leadership`;
}

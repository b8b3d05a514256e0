/**
 * `tskv certs rotate`'s plan, from each member's TLS files (as its host has them and as the PKI
 * hands them out now) and where the rotation stands. Pure: the play gathers, this decides.
 *
 * Certificates: the PKI issues every pair again, each member gets its new pairs and restarts
 * (one at a time, healthy before the next), then the old serials are revoked and the list placed
 * on every member (no restart: etcd reads it at every connection). The CA: three such passes,
 * each after the PKI step that makes it possible: every member trusts both CAs; every member gets
 * pairs of the new CA (the client's is issued with them: every member accepts both by then); every
 * member trusts only the new one. A rotation recorded in the PKI resumes: the passes before its
 * phase are done, and in its own pass a member whose files are right already is left alone.
 */

import { ETCD_PKI_FILES } from '../../agent/api/index.ts';
import type { CaPhase } from '../pki/rotation.ts';
import type { Plan, Step } from '../plan/plan.ts';
import { restartOrder } from './service.ts';
import { type SnapshotStep, snapshotStep } from './snapshot-step.ts';
import { type HostFile, planTlsFiles, TLS_FILE_OWNER } from './tls-files.ts';

/** What a PKI step does (pki/rotate.ts): start (or resume) the rotation, move it on, end it. */
export type PkiAction = 'start-certs' | 'revoke' | 'start-ca' | 'reissue' | 'drop' | 'end';

export type RotateStep =
  /** The member's TLS files (host paths), read from the PKI folder when written. */
  | (Step & { kind: 'tls'; host: string; paths: string[] })
  | (Step & { kind: 'restart'; host: string })
  | (Step & { kind: 'pki'; action: PkiAction })
  /** First, when members restart: a snapshot kept on the first host (ops/snapshot-step.ts). */
  | SnapshotStep;

export type RotationKind = 'certs' | 'ca';

export interface RotatePlan extends Plan<RotateStep> {
  kind: RotationKind;
  /** Where a recorded rotation stands (undefined: a new one starts). */
  resumes: { phase?: CaPhase } | undefined;
  /** Members restarted, in the order of the first pass. */
  restarts: string[];
}

export interface RotateHost {
  name: string;
  /** The TLS files as the PKI hands them out now, and as the host has them, by host path. */
  want: ReadonlyMap<string, string | undefined>;
  have: ReadonlyMap<string, HostFile | undefined>;
  /** The PKI has yet to issue this member's new pairs for the phase (a run stopped inside a PKI step). */
  pending: boolean;
}

export interface RotatePlanInput {
  kind: RotationKind;
  /** The rotation recorded in the PKI folder, if one is: its kind and (a CA's) phase. */
  recorded: { kind: RotationKind; phase?: CaPhase } | undefined;
  /** In inventory order. */
  hosts: RotateHost[];
  leader: string | undefined;
  /** Serials a certificate rotation will revoke (for the plan's words only). */
  revokeCount?: number;
  /** A snapshot before anything changes, keeping the newest `keep` (absent: --no-snapshot). */
  snapshot?: { keep: number } | undefined;
}

const { ca, serverCert, serverKey, peerCert, peerKey, crl } = ETCD_PKI_FILES;
const PAIRS = [serverCert, serverKey, peerCert, peerKey];
const name = (path: string) => path.slice(path.lastIndexOf('/') + 1);

interface Pass {
  /** Where a CA rotation must be for this pass to run (certificates: none). */
  phase?: CaPhase;
  /** The PKI step that makes the pass possible, before it. */
  before: { action: PkiAction; title: string };
  /** The files every member gets in it. */
  paths: string[];
  /** What the restart is for. */
  why: string;
}

function passes(kind: RotationKind): Pass[] {
  if (kind === 'certs') {
    return [
      {
        before: {
          action: 'start-certs',
          title:
            "PKI: issue every member's server and peer certificates and the client certificate again (the old serials recorded, to be revoked)",
        },
        paths: PAIRS,
        why: 'new certificates',
      },
    ];
  }
  return [
    {
      phase: 'trust',
      before: {
        action: 'start-ca',
        title:
          'PKI: make a new CA (ca.crt), keeping the current one as retiring-ca.crt until no member trusts it',
      },
      paths: [ca],
      why: 'pass 1 of 3: trust the retiring and the new CA',
    },
    {
      phase: 'reissue',
      before: {
        action: 'reissue',
        title: "PKI: issue every member's certificates and the client certificate under the new CA",
      },
      paths: PAIRS,
      why: 'pass 2 of 3: certificates of the new CA',
    },
    {
      phase: 'drop',
      before: {
        action: 'drop',
        title: 'PKI: members are to trust only the new CA, and check its revocation list',
      },
      paths: [ca, crl],
      why: 'pass 3 of 3: trust only the new CA',
    },
  ];
}

const PHASES: CaPhase[] = ['trust', 'reissue', 'drop'];

function tlsTitle(paths: string[]): string {
  return `write TLS files ${paths.map(name).join(', ')} (0640 ${TLS_FILE_OWNER})`;
}

/** One member's steps in a pass: its files, then its restart; none when it is done already. */
function memberSteps(h: RotateHost, pass: Pass, current: boolean): RotateStep[] {
  let paths = pass.paths;
  let restart = true;
  if (current && !h.pending) {
    const change = planTlsFiles(h.want, h.have);
    if (!change) return [];
    paths = change.paths;
    restart = change.restart;
  }
  return [
    { kind: 'tls', host: h.name, paths, title: tlsTitle(paths) },
    ...(restart
      ? [
          {
            kind: 'restart' as const,
            host: h.name,
            title: `restart etcd (${pass.why}; one member at a time, healthy before the next)`,
          },
        ]
      : []),
  ];
}

export function planRotation(input: RotatePlanInput): RotatePlan {
  const { kind, recorded } = input;
  const resumes =
    recorded?.kind === kind ? { ...(recorded.phase ? { phase: recorded.phase } : {}) } : undefined;
  const order = restartOrder(
    input.hosts.map((h) => h.name),
    input.leader,
  );
  const byName = new Map(input.hosts.map((h) => [h.name, h]));
  const steps: RotateStep[] = [];
  let restarts: string[] = [];
  for (const pass of passes(kind)) {
    // Passes before the recorded phase are done; its own is where the run stopped.
    const at = pass.phase ? PHASES.indexOf(pass.phase) : 0;
    const recordedAt = resumes ? (resumes.phase ? PHASES.indexOf(resumes.phase) : 0) : -1;
    if (at < recordedAt) continue;
    const resumed = at === recordedAt ? ' (resumed: only what is still missing)' : '';
    steps.push({ kind: 'pki', action: pass.before.action, title: `${pass.before.title}${resumed}` });
    const members = order.flatMap((n) => memberSteps(byName.get(n)!, pass, at === recordedAt));
    if (restarts.length === 0) restarts = members.filter((s) => s.kind === 'restart').map((s) => s.host!);
    steps.push(...members);
  }
  if (kind === 'certs') {
    const count = input.revokeCount === undefined ? '' : ` (${input.revokeCount})`;
    steps.push({
      kind: 'pki',
      action: 'revoke',
      title: `PKI: revoke the replaced certificates${count} in ca.crl`,
    });
    steps.push(
      ...order.map(
        (n): RotateStep => ({
          kind: 'tls',
          host: n,
          paths: [crl],
          title: `${tlsTitle([crl])}: the replaced certificates are refused from now on (no restart)`,
          together: 'place the revocation list on every member',
        }),
      ),
    );
  }
  steps.push({
    kind: 'pki',
    action: 'end',
    title:
      kind === 'ca'
        ? 'PKI: remove the retiring CA (retiring-ca.crt, .key, .crl) and the rotation record'
        : 'PKI: end the rotation record',
  });
  // The first host in inventory order: snapshots gather there and `keep` counts them.
  const snapAt = input.hosts[0]?.name;
  if (input.snapshot && restarts.length > 0 && snapAt)
    steps.unshift(snapshotStep(snapAt, input.snapshot.keep));
  return { kind, resumes, steps, restarts };
}

/**
 * `tskv certs rotate` as one workflow: read each member's TLS files, service and configuration and
 * where a rotation recorded in the PKI folder stands → plan (ops/rotate-plan.ts) → (dry run stops
 * here) → confirm → PKI steps and rolling restarts, each member healthy before the next → verify.
 * Changes only what the plan says, under the cluster lock, as deploy does (run/apply.ts).
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ETCD_PKI_FILES } from '../../agent/api/index.ts';
import { hostFailure, TskvError } from '../errors.ts';
import type { Inventory } from '../inventory/model.ts';
import { envFileValue } from '../ops/config.ts';
import { planRotation, type RotatePlan, type RotateStep, type RotationKind } from '../ops/rotate-plan.ts';
import {
  acceptedTrust,
  advanceCaRotation,
  CA_FILES,
  describePkiChanges,
  endRotation,
  fingerprintSha256,
  finishCommand,
  type PkiResult,
  parseCertPem,
  RETIRING_CA_FILES,
  type Rotation,
  readPkiFile,
  readRotation,
  revokeReplaced,
  startCaRotation,
  startCertRotation,
} from '../pki/index.ts';
import { ETCD_ENV_FILE } from '../render/settings.ts';
import { forEachHost } from '../run/progress.ts';
import type { Executor } from '../run/runner.ts';
import { refuseOtherCa } from './deploy.ts';
import { hostTlsFiles, readHostFile, tlsWants } from './deploy-gather.ts';
import { type VerifyReport, verifyCluster } from './deploy-verify.ts';
import { serviceCall, writeTlsFiles } from './host-etcd.ts';
import { LiveCluster } from './live-cluster.ts';
import { type PlayResult, runLockedPlay } from './locked-play.ts';
import { restartMember } from './rolling-restart.ts';
import type { Session } from './session.ts';
import { refuseNoSnapshotRoom, runSnapshotStep } from './snapshot-step-run.ts';

export interface RotateOptions {
  kind: RotationKind;
  dryRun: boolean;
  yes: boolean;
  /** The command line that answers yes for scripts. */
  rerun: string;
  /** The command line, as the cluster lock names its holder. */
  command: string;
  breakLock: boolean;
  /** No snapshot before the restarts (--no-snapshot). */
  noSnapshot?: boolean;
  showPlan(plan: RotatePlan): void;
}

/** actions: the PKI's under 'cluster'. */
export interface RotateResult extends PlayResult<RotatePlan> {
  verify: VerifyReport | undefined;
}

function refused(message: string, fix: string, host?: string): TskvError {
  return new TskvError('E_REFUSED', `certs rotate refused, nothing was changed: ${message}`, {
    step: 'plan',
    fix,
    ...(host ? { host } : {}),
  });
}

/** What must hold before anything rotates: TLS on, the PKI there, no other kind of rotation under way. */
async function refuseUnready(inv: Inventory, kind: RotationKind): Promise<Rotation | undefined> {
  if (inv.tls.mode !== 'auto') {
    throw refused(
      `${inv.file} does not set tls.mode: auto`,
      `set tls: { mode: auto } and run tskv deploy first`,
    );
  }
  if (!existsSync(join(inv.tls.dir, CA_FILES.cert))) {
    throw refused(`there is no PKI in ${inv.tls.dir} yet`, `tskv deploy ${inv.file} makes it`);
  }
  const rotation = await readRotation(inv.tls.dir);
  if (rotation && rotation.kind !== kind) {
    const what = rotation.kind === 'ca' ? 'a CA rotation' : 'a certificate rotation';
    throw refused(`${what} is in progress`, `finish it first: ${finishCommand(rotation, inv.file)}`);
  }
  return rotation;
}

/** Whether the PKI's pair for `member` is still to be issued for the recorded rotation's phase. */
async function pending(
  inv: Inventory,
  rotation: Rotation | undefined,
  want: Map<string, string | undefined>,
) {
  if (!rotation) return false;
  const serverCert = want.get(ETCD_PKI_FILES.serverCert);
  const cert = serverCert === undefined ? undefined : parseCertPem(serverCert);
  if (rotation.kind === 'certs')
    return cert === undefined || rotation.revoke.includes(cert.serialNumber.toLowerCase());
  if (rotation.phase === 'trust') {
    const ca = await readPkiFile(join(inv.tls.dir, CA_FILES.cert), 'cert');
    return ca === undefined || fingerprintSha256(parseCertPem(ca)) === rotation.retiring;
  }
  if (rotation.phase === 'reissue') {
    const retiring = await readPkiFile(join(inv.tls.dir, RETIRING_CA_FILES.cert), 'cert');
    return cert === undefined || (retiring !== undefined && cert.issuer === parseCertPem(retiring).subject);
  }
  return false;
}

/** Every member's files and service, the leader, and the rotation recorded: the plan. */
async function planFromHosts(
  live: LiveCluster,
  kind: RotationKind,
  noSnapshot: boolean,
): Promise<RotatePlan> {
  const { session } = live;
  const inv = session.inventory;
  const rotation = await refuseUnready(inv, kind);
  // The hosts a recovery has not brought back yet are recover's: a rotation waits for it.
  await live.refuseDuringRecovery('certs rotate');
  const names = inv.hosts.map((h) => h.name);
  const outcomes = await forEachHost(
    'read TLS files and service state',
    names,
    async (name) => {
      const ch = live.channel(name);
      const [tls, service, env] = await Promise.all([
        hostTlsFiles(ch, inv),
        serviceCall(ch, 'status'),
        readHostFile(ch, ETCD_ENV_FILE),
      ]);
      return { ch, tls, service, env: env?.content };
    },
    session.mode,
  );
  const hosts = [];
  for (const name of names) {
    const o = outcomes.get(name)!;
    if (!o.ok) throw hostFailure(name, 'read TLS files and service state', o.error);
    const { ch, tls, service, env } = o.value;
    const rerun = `tskv deploy ${inv.file}, then this command again`;
    if (!service.running) throw refused(`etcd is not running on ${name}`, rerun, name);
    if (envFileValue(env, 'ETCD_PEER_CRL_FILE') !== ETCD_PKI_FILES.crl) {
      throw refused(
        `${name}'s etcd checks no revocation list yet (its configuration predates certs rotate)`,
        rerun,
        name,
      );
    }
    tls.want = await tlsWants(inv, name);
    hosts.push({ spec: ch.spec, tls, name, pending: await pending(inv, rotation, tls.want) });
  }
  refuseOtherCa(inv, hosts, await acceptedTrust(inv.tls.dir));
  const view = await live.view();
  const leader = view.probes.find((p) => p.member.id === view.leaderId)?.host;
  const plan = planRotation({
    kind,
    recorded: rotation && {
      kind: rotation.kind,
      ...(rotation.kind === 'ca' ? { phase: rotation.phase } : {}),
    },
    hosts: hosts.map((h) => ({ name: h.name, want: h.tls.want, have: h.tls.have, pending: h.pending })),
    leader,
    ...(rotation?.kind === 'certs' ? { revokeCount: rotation.revoke.length } : {}),
    snapshot: noSnapshot ? undefined : { keep: inv.snapshots.keep },
  });
  await refuseNoSnapshotRoom(session, plan.steps);
  return plan;
}

/** Runs the PKI's side of a step (pki/rotate.ts); every one is safe to run again. */
async function pkiStep(inv: Inventory, step: Extract<RotateStep, { kind: 'pki' }>): Promise<PkiResult> {
  const dir = inv.tls.dir;
  const members = inv.hosts.map((h) => ({ name: h.name, address: h.address }));
  switch (step.action) {
    case 'start-certs':
      return startCertRotation(dir, members);
    case 'revoke':
      return revokeReplaced(dir);
    case 'start-ca':
      return (await startCaRotation(dir, members)).pki;
    case 'reissue':
    case 'drop':
      return advanceCaRotation(dir, step.action, members);
    case 'end':
      return endRotation(dir);
  }
}

export function rotateExecutor(live: LiveCluster): Executor<RotateStep> {
  const inv = live.session.inventory;
  return async (step, progress) => {
    switch (step.kind) {
      case 'pki': {
        const pki = await pkiStep(inv, step);
        return [...describePkiChanges(pki), ...pki.warnings.map((w) => `warning: ${w}`)];
      }
      case 'tls':
        return writeTlsFiles(live.channel(step.host), inv, step.paths);
      case 'restart':
        return restartMember(live, live.channel(step.host), progress);
      case 'snapshot':
        return runSnapshotStep(live.session, step);
    }
  };
}

function question(plan: RotatePlan, rerun: string) {
  const members = plan.restarts.join(', ');
  const what =
    plan.kind === 'ca'
      ? `rotate the CA: restart ${members || 'no member'} one at a time in each of its passes`
      : `issue new certificates, restart ${members || 'no member'} one at a time, then revoke the old ones`;
  return { what, rerun };
}

export async function runRotate(session: Session, options: RotateOptions): Promise<RotateResult> {
  const live = new LiveCluster(session);
  let verify: VerifyReport | undefined;
  try {
    const result = await runLockedPlay(session, {
      ...options,
      plan: () => planFromHosts(live, options.kind, options.noSnapshot ?? false),
      show: options.showPlan,
      question: (plan) => question(plan, options.rerun),
      execute: rotateExecutor(live),
      declined: 'not rotating',
      afterRun: async () => {
        verify = await verifyCluster(live);
      },
    });
    return { ...result, verify };
  } finally {
    await live.close();
  }
}

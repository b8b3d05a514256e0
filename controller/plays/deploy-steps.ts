/** How each of deploy's steps runs on its host (ops/deploy-plan.ts plans them, the runner orders them). */
import { TskvError } from '../errors.ts';
import type { DeployStep } from '../ops/deploy-plan.ts';
import { memberAt } from '../ops/membership.ts';
import { isScaleStep } from '../ops/scale-plan.ts';
import { loopbackSchemeOfEnv } from '../ops/tls-migration.ts';
import type { Executor } from '../run/runner.ts';
import { type ClockOptions, type ClockSyncs, checkClocksAgree, syncClock } from './clock-sync.ts';
import type { TarballSource, TarballState } from './etcd-prefetch.ts';
import { openFirewall } from './firewall.ts';
import { installEtcd, serviceCall, writeEnvFile, writeTlsFiles } from './host-etcd.ts';
import type { LiveCluster } from './live-cluster.ts';
import { checkOthersHealthy, waitMemberHealthy } from './member-health.ts';
import { restartMember, upgradeMember } from './rolling-restart.ts';
import { scaleExecutor } from './scale-steps.ts';
import { runSnapshotStep } from './snapshot-step-run.ts';

export interface DeployContext {
  live: LiveCluster;
  clock: ClockOptions;
  /** How the tarball reaches a host: the artifact (resolved lazily: only when some host installs) or the host's own download. */
  artifact: TarballSource;
  /** Per host, the tarball push started during preflight (see etcd-prefetch.ts). */
  prefetched?: Map<string, Promise<TarballState | undefined>>;
  /** Leaving members' hosts that could not be reached to retire them (scale-steps.ts). */
  notCleaned?: string[];
}

export function deployExecutor(ctx: DeployContext): Executor<DeployStep> {
  const { live } = ctx;
  const syncs: ClockSyncs = new Map();
  // The env file each host got, which its member serves by once it (re)starts: tskv then reaches
  // it in that scheme (a move to TLS changes it).
  const written = new Map<string, string>();
  const servesWritten = (host: string) => {
    const scheme = loopbackSchemeOfEnv(written.get(host));
    if (scheme) live.tunnels.useScheme(host, scheme);
  };
  const scale = scaleExecutor(live, ctx.notCleaned ?? []);
  return async (step, progress) => {
    if (step.kind === 'clock-check') return checkClocksAgree(live.session, ctx.clock, syncs);
    if (isScaleStep(step)) return scale(step, progress);
    const ch = live.channel(step.host);
    switch (step.kind) {
      case 'clock':
        return syncClock(ch, live.session, ctx.clock, syncs);
      case 'install':
        return installEtcd(ch, ctx.artifact, step.version, {
          progress,
          prefetched: ctx.prefetched?.get(step.host),
          stage: step.stage === true,
          relay: live.session.relay,
        });
      case 'firewall':
        return openFirewall(ch, step.request);
      case 'config':
        written.set(step.host, step.env);
        return (await writeEnvFile(ch, step.env)).actions;
      case 'unit':
        return (await serviceCall(ch, 'install', step.unit)).actions;
      case 'tls':
        return writeTlsFiles(ch, live.session.inventory, step.paths);
      case 'peer-urls': {
        progress('checking the other members');
        const members = (await live.memberList()).members;
        const self = memberAt(live.session.inventory, members, ch.spec);
        if (!self) {
          throw new TskvError('E_MEMBERSHIP', `no member has ${step.host}'s peer address`, {
            host: step.host,
            fix: 'tskv status shows the member list; re-run deploy once it has the member',
          });
        }
        if (self.peerURLs.length === 1 && self.peerURLs[0] === step.peerUrl)
          return ['peer URL already updated'];
        // Its peers cannot reach it from now until it restarts: the others must carry the cluster.
        await checkOthersHealthy(live, self.id, `moving ${step.host}'s peer URL to TLS`);
        await live.cluster().memberUpdate(self.id, [step.peerUrl]);
        progress('peer URL moved: its peers reach it once it restarts');
        return [`member update ${self.idHex}: peer URL ${step.peerUrl}`];
      }
      case 'start': {
        const started = await serviceCall(ch, 'start');
        servesWritten(step.host);
        progress(`started (pid ${started.pid ?? '?'}), waiting until healthy`);
        await waitMemberHealthy(ch, live.tunnels.endpoint(ch.conn), started, 'start etcd');
        return started.actions;
      }
      case 'restart':
        return step.switch
          ? upgradeMember(live, ch, step.switch, progress, () => servesWritten(step.host))
          : restartMember(live, ch, progress, () => servesWritten(step.host));
      case 'snapshot':
        return runSnapshotStep(live.session, step);
    }
  };
}

/**
 * Starting members. Bootstrap: every member at once (the first election needs a quorum of them),
 * then each must become healthy. Rolling restart: one member at a time, only while every other
 * member is healthy, each healthy again before the next. A member that fails stops deploy with its
 * log; the others are left running.
 */
import { TskvError } from '../errors.ts';
import { EtcdClient } from '../etcd/index.ts';
import type { EtcdTunnels } from '../etcd-tunnel.ts';
import type { DesiredConfig } from '../ops/config.ts';
import type { DeployPlan } from '../plan/types.ts';
import { forEachHost } from '../run/tasks.ts';
import { writeEnvFile } from './deploy-prepare.ts';
import { serviceCall, waitMemberHealthy } from './deploy-service.ts';
import type { Session } from './session.ts';

export interface StartInput {
  plan: DeployPlan;
  desired: Map<string, DesiredConfig>;
  tunnels: EtcdTunnels;
}

function combine(failures: [string, unknown][]): TskvError {
  const errs = failures.map(([host, e]) =>
    e instanceof TskvError
      ? e
      : new TskvError('E_ETCD_START', String(e), { host, step: 'start etcd', cause: e }),
  );
  if (errs.length === 1) return errs[0]!;
  return new TskvError(
    'E_ETCD_START',
    `${errs.length} members failed to start:\n${errs.map((e) => `${e.host}: ${e.message}`).join('\n')}`,
    { step: 'start etcd', ...(errs[0]!.fix ? { fix: errs[0]!.fix } : {}) },
  );
}

/** Starts every planned member together and waits until each is healthy. */
export async function startMembers(session: Session, input: StartInput): Promise<string[]> {
  const names = input.plan.starts;
  if (names.length === 0) return [];
  const title =
    input.plan.mode.kind === 'new'
      ? 'start all members together (--initial-cluster-state new)'
      : 'start stopped members';
  const outcomes = await forEachHost(
    title,
    names,
    async (name, report) => {
      const ch = session.hosts.get(name)!;
      report.output('starting');
      const started = await serviceCall(ch, 'start', input.desired.get(name)?.unit);
      report.output(`started (pid ${started.pid ?? '?'}), waiting until healthy`);
      await waitMemberHealthy(ch, input.tunnels.endpoint(ch.conn), started, 'start etcd');
    },
    session.mode,
  );
  const failures = [...outcomes]
    .filter(([, o]) => !o.ok)
    .map(([h, o]) => [h, o.ok ? undefined : o.error] as [string, unknown]);
  if (failures.length > 0) throw combine(failures);
  return names;
}

async function unhealthyOthers(session: Session, tunnels: EtcdTunnels, except: string): Promise<string[]> {
  const others = [...session.hosts.keys()].filter((h) => h !== except);
  const results = await Promise.all(
    others.map(async (h) => {
      const client = new EtcdClient(tunnels.endpoint(session.hosts.get(h)!.conn), { timeoutMs: 3000 });
      const healthy = await client.health().then(
        (r) => r.healthy,
        () => false,
      );
      return healthy ? undefined : h;
    }),
  );
  return results.filter((h): h is string => h !== undefined);
}

/** Restarts the planned members one at a time, in the plan's order. */
export async function rollingRestart(session: Session, input: StartInput): Promise<string[]> {
  const done: string[] = [];
  for (const name of input.plan.restarts) {
    const ch = session.hosts.get(name)!;
    const hp = input.plan.hosts.find((h) => h.host === name)!;
    const outcome = (
      await forEachHost(
        `restart ${name} (${done.length + 1} of ${input.plan.restarts.length})`,
        [name],
        async (_n, report) => {
          report.output('checking the other members');
          const sick = await unhealthyOthers(session, input.tunnels, name);
          if (sick.length > 0) {
            throw new TskvError(
              'E_UNHEALTHY',
              `not restarting ${name}: ${sick.join(', ')} ${sick.length > 1 ? 'are' : 'is'} not healthy, and a restart now could lose quorum`,
              {
                host: name,
                step: 'restart etcd',
                fix: `bring ${sick.join(', ')} back first (tskv status), then re-run`,
              },
            );
          }
          if (hp.steps.some((s) => s.kind === 'config')) {
            report.output('writing the configuration');
            await writeEnvFile(ch, input.desired.get(name)!);
          }
          report.output('restarting');
          const started = await serviceCall(ch, 'restart', input.desired.get(name)?.unit);
          report.output(`restarted (pid ${started.pid ?? '?'}), waiting until healthy`);
          await waitMemberHealthy(ch, input.tunnels.endpoint(ch.conn), started, 'restart etcd');
        },
        session.mode,
      )
    ).get(name)!;
    if (!outcome.ok) throw combine([[name, outcome.error]]);
    done.push(name);
  }
  return done;
}

/** etcd's service on one host through its agent: start/restart, wait until the member is healthy, explain a failure with its log. */
import { type ResponseOf, routes } from '../../agent/api/index.ts';
import { describeCause, TskvError } from '../errors.ts';
import { EtcdClient, type EtcdEndpoint, waitFor } from '../etcd/index.ts';
import type { HostChannel } from './session.ts';

export type ServiceStatus = ResponseOf<typeof routes.etcdService>;

/** How long a member may take to become healthy after (re)starting: a first election needs its peers. */
export const HEALTHY_DEADLINE_MS = 30_000;
const LOG_LINES = 25;

export function serviceCall(
  ch: HostChannel,
  action: 'start' | 'stop' | 'restart' | 'status',
  unit?: string,
): Promise<ServiceStatus> {
  return ch.agent.call(
    routes.etcdService,
    { action, ...(unit === undefined ? {} : { unit }) },
    { step: `${action} etcd`, timeoutMs: 60_000 },
  );
}

/** The log line that most likely says why etcd stopped (capnslog "C |"/"E |", zap fatal/error, Go panics). */
export function likelyCause(lines: string[]): string | undefined {
  const patterns = [/ C \| /, /"level":"(fatal|panic)"/, /^panic:/, / E \| /, /"level":"error"/, /error/i];
  for (const p of patterns) {
    const hit = [...lines].reverse().find((l) => p.test(l));
    if (hit) return hit.trim();
  }
  return undefined;
}

/** A start failure with the member's last log lines and the likely cause. */
export async function startFailure(
  ch: HostChannel,
  step: string,
  what: string,
  cause?: unknown,
): Promise<TskvError> {
  let lines: string[] = [];
  try {
    lines = (await ch.agent.call(routes.etcdLogs, { lines: LOG_LINES }, { step: 'etcd logs' })).lines;
  } catch (err) {
    lines = [`(could not read the log: ${describeCause(err)})`];
  }
  const likely = likelyCause(lines);
  const log = lines.length
    ? `\n  last ${lines.length} log lines:\n${lines.map((l) => `    ${l}`).join('\n')}`
    : '';
  return new TskvError(
    'E_ETCD_START',
    `${what}${likely ? `\n  cause: ${likely}` : cause ? `\n  cause: ${describeCause(cause)}` : ''}${log}`,
    {
      host: ch.spec.name,
      step,
      fix: 'fix the cause on that host or in the inventory and re-run tskv deploy (the other members keep running)',
    },
  );
}

class MemberDown extends Error {}

/**
 * /health answers at once until a leader is elected (etcd fast-forwards its first election to
 * 0.2-1.2 s after the peers connect): polled often, it adds little on top of the election itself.
 */
const HEALTH_POLL_MS = 25;
/** How often the supervisor (or systemd) is asked whether etcd still runs, by the clock. */
const STATUS_EVERY_MS = 200;

/**
 * Polls the member's /health (through the tunnel) until healthy. The service status is polled too,
 * so a member that exits, or crashes and is restarted by its supervisor, fails at once with its log.
 */
export async function waitMemberHealthy(
  ch: HostChannel,
  endpoint: EtcdEndpoint,
  started: ServiceStatus,
  step: string,
  deadlineMs = HEALTHY_DEADLINE_MS,
): Promise<void> {
  const client = new EtcdClient(endpoint, { timeoutMs: 2000 });
  let statusAt = Number.NEGATIVE_INFINITY;
  try {
    await waitFor(
      async () => {
        const healthy = await client.health().then(
          (h) => h.healthy,
          () => false,
        );
        if (healthy) return true;
        // By the clock, not every Nth poll: a /health that hangs to its timeout must not delay this.
        if (Date.now() - statusAt >= STATUS_EVERY_MS) {
          statusAt = Date.now();
          const st = await serviceCall(ch, 'status');
          const exit = st.lastExit ? ` (${st.lastExit})` : '';
          if (!st.running) throw new MemberDown(`etcd exited${exit}`);
          const restarted =
            (st.restarts ?? 0) > (started.restarts ?? 0) ||
            // The pid, not startedAtMs: systemd's start time is recomputed (±1 ms) on every status.
            (started.pid !== null && st.pid !== null && st.pid !== started.pid);
          if (restarted) throw new MemberDown(`etcd crashed${exit} and was restarted by its supervisor`);
        }
        return false;
      },
      {
        deadlineMs,
        intervalMs: HEALTH_POLL_MS,
        describe: `${ch.spec.name} to become healthy`,
        isFatal: (err) => err instanceof MemberDown || err instanceof TskvError,
        host: ch.spec.name,
      },
    );
  } catch (err) {
    // The host itself went away (SSH/agent): that is the error, not etcd.
    if (err instanceof TskvError && err.code !== 'E_TIMEOUT') throw err;
    const what =
      err instanceof MemberDown
        ? `${err.message} after it was started`
        : `etcd did not become healthy within ${deadlineMs / 1000}s`;
    const failure = await startFailure(ch, step, what, err instanceof MemberDown ? undefined : err);
    // Not left crash-looping under its supervisor: the next deploy sees it stopped and starts it again.
    await serviceCall(ch, 'stop').catch(() => undefined);
    throw failure;
  }
}

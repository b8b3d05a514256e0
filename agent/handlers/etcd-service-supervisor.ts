import { access, constants } from 'node:fs/promises';
import type { ResponseOf, routes } from '../api/index.ts';
import { AgentError } from '../errors.ts';
import { readSupervisorState, type SupervisorPaths } from '../supervisor/state.ts';
import { processUser } from '../system/accounts.ts';
import { staleness } from '../system/etcd-staleness.ts';
import { processAlive } from '../system/proc-stat.ts';
import {
  launchSupervisor,
  type SuperviseTarget,
  type SupervisorView,
  signal,
  viewSupervisor,
} from '../system/supervisor-control.ts';
import { waitUntil } from '../wait-until.ts';
import type { PrepareEtcdRun } from './etcd-run-as.ts';

type Reply = ResponseOf<typeof routes.etcdService>;

export interface SupervisorContext {
  paths: SupervisorPaths;
  /** How to run this agent (see agentCommand). */
  agentCommand: string[];
  /** The etcd program the supervisor runs, its env file and its log. */
  target: SuperviseTarget;
  /** The etcd account, the data dir handed to it: done before every start (etcd-run-as.ts). */
  prepare: PrepareEtcdRun;
}

const START_TIMEOUT_MS = 10_000;
/** The supervisor gives etcd 10 s after SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS = 15_000;

async function reply(view: SupervisorView, changed: boolean, actions: string[]): Promise<Reply> {
  const s = view.state;
  const running = view.etcdAlive && s !== null;
  const user = running && s.etcdPid !== null ? await processUser(s.etcdPid) : undefined;
  const stale =
    running && s.startedAtMs !== null
      ? staleness(s.binaryTarget ?? undefined, s.startedAtMs, { envFile: s.envFile, binary: s.binary })
      : undefined;
  return {
    ...(stale ? { stale } : {}),
    changed,
    actions,
    manager: 'supervisor',
    running,
    pid: running ? s.etcdPid : null,
    startedAtMs: running ? s.startedAtMs : null,
    ...(s ? { restarts: s.restarts } : {}),
    ...(s?.lastExit ? { lastExit: s.lastExit.reason } : {}),
    ...(user !== undefined ? { user } : {}),
  };
}

async function requireFile(path: string, what: string, mode: number): Promise<void> {
  try {
    await access(path, mode);
  } catch {
    throw new AgentError('E_AGENT_NOT_FOUND', `cannot start etcd: ${what} ${path} is missing`, 404);
  }
}

/** Stop an etcd whose supervisor was killed (SIGTERM, SIGKILL after the grace time). */
async function stopOrphan(pid: number, startTime: number | null): Promise<void> {
  const alive = () => processAlive(pid, startTime ?? undefined);
  signal(pid, 'SIGTERM');
  if (!(await waitUntil(() => !alive(), STOP_TIMEOUT_MS - 5_000))) {
    signal(pid, 'SIGKILL');
    await waitUntil(() => !alive(), 2_000);
  }
}

export async function supervisorStart(ctx: SupervisorContext): Promise<Reply> {
  const { target } = ctx;
  const view = viewSupervisor(ctx.paths);
  if (view.supervisorAlive) return reply(view, false, []);
  const actions: string[] = [];
  const orphan = view.etcdAlive && view.state ? view.state : null;
  if (orphan) actions.push(`stop etcd (pid ${orphan.etcdPid}) left running by a killed supervisor`);
  await requireFile(target.binary, 'the etcd program', constants.X_OK);
  await requireFile(target.envFile, 'the environment file', constants.R_OK);
  if (orphan?.etcdPid) await stopOrphan(orphan.etcdPid, orphan.etcdStartTime);
  // No etcd runs now: its folders can change hands.
  const prepared = await ctx.prepare(true);
  const account = prepared.account;
  actions.push(
    ...prepared.made,
    ...prepared.changes,
    `start etcd under the tskv supervisor (${target.binary}, ${target.envFile}) as user ${account.user}`,
  );
  const pid = await launchSupervisor(ctx.agentCommand, target, ctx.paths, account);
  const settled = await waitUntil(() => {
    const s = readSupervisorState(ctx.paths.stateFile);
    return (s?.supervisorPid === pid && s.phase !== 'starting') || !processAlive(pid);
  }, START_TIMEOUT_MS);
  let after = viewSupervisor(ctx.paths);
  // Another start got there first (its supervisor holds the lock, ours exited): that one runs etcd,
  // once it has written that it does.
  if (after.state?.supervisorPid !== pid && !processAlive(pid)) {
    const theirs = await waitUntil(() => {
      after = viewSupervisor(ctx.paths);
      return after.supervisorAlive && after.state?.phase !== 'starting';
    }, START_TIMEOUT_MS);
    if (theirs) return reply(after, false, ['another start of etcd got there first']);
  }
  if (!settled || after.state?.supervisorPid !== pid) {
    throw new AgentError(
      'E_AGENT_COMMAND_FAILED',
      `the etcd supervisor (pid ${pid}) did not come up within ${START_TIMEOUT_MS} ms; see ${target.logFile}`,
    );
  }
  return reply(after, true, actions);
}

export async function supervisorStop(ctx: SupervisorContext): Promise<Reply> {
  const view = viewSupervisor(ctx.paths);
  const state = view.state;
  if (!state || (!view.supervisorAlive && !view.etcdAlive)) return reply(view, false, []);
  const what = view.etcdAlive ? `etcd (pid ${state.etcdPid})` : 'the etcd supervisor (etcd not running)';
  const actions = [`stop ${what}`];
  // Stopped means both processes are gone, not the supervisor's "exited" record: it writes that
  // record just before it exits, and a caller told "stopped" may start the next supervisor at once.
  const gone = () =>
    !processAlive(state.supervisorPid, state.supervisorStartTime || undefined) &&
    (state.etcdPid === null || !processAlive(state.etcdPid, state.etcdStartTime ?? undefined));
  if (view.supervisorAlive) {
    signal(state.supervisorPid, 'SIGTERM');
    if (!(await waitUntil(gone, STOP_TIMEOUT_MS))) {
      signal(state.supervisorPid, 'SIGKILL');
      if (state.etcdPid) signal(state.etcdPid, 'SIGKILL');
      await waitUntil(gone, 2_000);
    }
  } else if (state.etcdPid) {
    await stopOrphan(state.etcdPid, state.etcdStartTime);
  }
  const after = viewSupervisor(ctx.paths);
  if (!gone() || after.etcdAlive) {
    throw new AgentError('E_AGENT_COMMAND_FAILED', `etcd did not stop within ${STOP_TIMEOUT_MS} ms`);
  }
  return reply(after, true, actions);
}

export async function supervisorRestart(ctx: SupervisorContext): Promise<Reply> {
  const view = viewSupervisor(ctx.paths);
  const state = view.state;
  const { target } = ctx;
  if (!view.supervisorAlive || !state) return supervisorStart(ctx);
  const sameTarget =
    state.binary === target.binary && state.envFile === target.envFile && state.logFile === target.logFile;
  // A supervisor that runs etcd as another user (an older agent's, as root), or folders not yet the
  // etcd user's: a new supervisor, started once the old one and its etcd are gone.
  const pending = await ctx.prepare(false);
  const sameUser = state.uid === pending.account.uid && state.gid === pending.account.gid;
  if (!sameTarget || !sameUser || pending.changes.length > 0) {
    const stopped = await supervisorStop(ctx);
    const started = await supervisorStart(ctx);
    return { ...started, actions: [...pending.made, ...stopped.actions, ...started.actions] };
  }
  const actions = [
    ...pending.made,
    view.etcdAlive ? `restart etcd (pid ${state.etcdPid})` : 'start etcd now (it was waiting to restart)',
  ];
  signal(state.supervisorPid, 'SIGHUP');
  const restarted = await waitUntil(() => {
    const s = readSupervisorState(ctx.paths.stateFile);
    return (
      (s !== null && s.spawns > state.spawns && s.phase !== 'stopping') || !processAlive(state.supervisorPid)
    );
  }, STOP_TIMEOUT_MS + 5_000);
  if (!restarted) {
    throw new AgentError(
      'E_AGENT_COMMAND_FAILED',
      `etcd did not restart within ${STOP_TIMEOUT_MS + 5_000} ms`,
    );
  }
  return reply(viewSupervisor(ctx.paths), true, actions);
}

export async function supervisorStatus(ctx: SupervisorContext): Promise<Reply> {
  return reply(viewSupervisor(ctx.paths), false, []);
}

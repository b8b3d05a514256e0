import {
  ETCD_BINARY,
  ETCD_ENV_FILE,
  ETCD_UNIT,
  ETCD_UNIT_FILE,
  ETCD_USER,
  type ParsedRequestOf,
  type ResponseOf,
  type routes,
} from '../api/index.ts';
import { AgentError, refused } from '../errors.ts';
import { processUser } from '../system/accounts.ts';
import { readCurrentFile, writeFileAtomic } from '../system/atomic-file.ts';
import { runningProgram, staleness } from '../system/etcd-staleness.ts';
import { systemctl, systemctlOk, type UnitStatus, unitStatus } from '../system/systemd.ts';
import { waitUntil } from '../wait-until.ts';
import type { PrepareEtcdRun } from './etcd-run-as.ts';

type Request = ParsedRequestOf<typeof routes.etcdService>;
type Reply = ResponseOf<typeof routes.etcdService>;

const WAIT_MS = 15_000;

async function reply(status: UnitStatus, changed: boolean, actions: string[]): Promise<Reply> {
  const running = status.mainPid > 0 && isUp(status);
  const user = running ? await processUser(status.mainPid) : undefined;
  const stale =
    running && status.startedAtMs !== null
      ? staleness(runningProgram(status.mainPid), status.startedAtMs, {
          envFile: ETCD_ENV_FILE,
          binary: ETCD_BINARY,
          unitFile: ETCD_UNIT_FILE,
        })
      : undefined;
  return {
    ...(stale ? { stale } : {}),
    changed,
    actions,
    manager: 'systemd',
    running,
    pid: running ? status.mainPid : null,
    startedAtMs: running ? status.startedAtMs : null,
    restarts: status.restarts,
    ...(status.lastExit ? { lastExit: status.lastExit } : {}),
    unitState: `${status.activeState} (${status.subState})`,
    ...(user !== undefined ? { user } : {}),
  };
}

/**
 * The unit runs, or is on its way: not a unit waiting to be started again after a crash
 * ("activating (auto-restart)", no main process), which a start must still prepare and start.
 */
function isUp(s: UnitStatus): boolean {
  return ['active', 'activating', 'reloading'].includes(s.activeState) && s.subState !== 'auto-restart';
}

async function commandFailed<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof AgentError) throw err;
    throw new AgentError('E_AGENT_COMMAND_FAILED', err instanceof Error ? err.message : String(err));
  }
}

/** Install the unit text when it differs (then daemon-reload) and enable the unit. */
async function installUnit(request: Request, actions: string[]): Promise<void> {
  if (request.unit !== undefined) {
    const current = await readCurrentFile(ETCD_UNIT_FILE);
    if (current.content !== request.unit || current.mode !== 0o644) {
      actions.push(`${current.exists ? 'update' : 'install'} ${ETCD_UNIT_FILE}, daemon-reload`);
      await writeFileAtomic(ETCD_UNIT_FILE, request.unit, 0o644);
      await systemctlOk(['daemon-reload']);
    }
  }
  const enabled = (await systemctl(['is-enabled', ETCD_UNIT])).stdout.trim();
  if (enabled !== 'enabled') {
    actions.push(`enable ${ETCD_UNIT}`);
    await systemctlOk(['enable', ETCD_UNIT]);
  }
}

/** Wait until systemd reports a main process other than `oldPid` (or the unit failed). */
async function waitForMainPid(oldPid: number): Promise<UnitStatus> {
  let status = await unitStatus(ETCD_UNIT);
  await waitUntil(
    async () => {
      status = await unitStatus(ETCD_UNIT);
      return (status.mainPid !== 0 && status.mainPid !== oldPid) || status.activeState === 'failed';
    },
    WAIT_MS,
    100,
  );
  return status;
}

/**
 * The user systemd will run etcd as, drop-ins included: the unit file is checked when it is
 * written, but an etcd.service.d/ drop-in (or a unit written by hand) can still say root.
 */
async function requireEtcdUser(): Promise<void> {
  const shown = (await systemctl(['show', '-p', 'LoadState', '-p', 'User', ETCD_UNIT])).stdout;
  const value = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(shown)?.[1]?.trim() ?? '';
  if (value('LoadState') === 'not-found') return; // nothing to run: systemctl says so itself
  const user = value('User');
  if (user !== ETCD_USER) {
    throw refused(
      `${ETCD_UNIT} would run etcd as ${user || 'root'}, not ${ETCD_USER} (see 'systemctl cat ${ETCD_UNIT}': a drop-in may set User=); remove the override`,
    );
  }
}

async function start(request: Request, restart: boolean, prepare: PrepareEtcdRun): Promise<Reply> {
  const actions: string[] = [];
  await installUnit(request, actions);
  await requireEtcdUser();
  let before = await unitStatus(ETCD_UNIT);
  if (!restart && isUp(before)) return reply(before, actions.length > 0, actions);
  if (isUp(before)) {
    // An etcd of another user (as root, under an older unit), or folders not yet the etcd user's:
    // stop it, hand them over, then start, so that nothing is written as root in between.
    const runsAs = await processUser(before.mainPid);
    const pending = await prepare(false);
    actions.push(...pending.made);
    const otherUser = runsAs !== pending.account.user;
    if (otherUser || pending.changes.length > 0) {
      actions.push(
        `stop ${ETCD_UNIT} first (${otherUser ? `etcd runs as ${runsAs ?? 'an unknown user'}` : 'its folders change hands'})`,
      );
      await systemctlOk(['stop', ETCD_UNIT]);
      before = await unitStatus(ETCD_UNIT);
    }
  }
  if (!isUp(before)) {
    const prepared = await prepare(true);
    actions.push(...prepared.made, ...prepared.changes);
  }
  actions.push(`${isUp(before) ? 'restart' : 'start'} ${ETCD_UNIT}`);
  // --no-block: a Type=notify etcd of a new cluster is "activating" until a quorum is up.
  await systemctlOk([isUp(before) ? 'restart' : 'start', '--no-block', ETCD_UNIT]);
  return reply(await waitForMainPid(before.mainPid), true, actions);
}

/** Anything for `systemctl stop` to end: a running unit, or one waiting to restart after a crash. */
function isStoppable(s: UnitStatus): boolean {
  return !['inactive', 'failed'].includes(s.activeState);
}

async function stop(): Promise<Reply> {
  const actions: string[] = [];
  const before = await unitStatus(ETCD_UNIT);
  const enabled = (await systemctl(['is-enabled', ETCD_UNIT])).stdout.trim() === 'enabled';
  if (isStoppable(before))
    actions.push(isUp(before) ? `stop ${ETCD_UNIT}` : `stop ${ETCD_UNIT} (no more restarts after its crash)`);
  // A stopped member must not come back at boot (a removed member restarting is a classic failure).
  if (enabled) actions.push(`disable ${ETCD_UNIT}`);
  if (actions.length === 0) return reply(before, false, actions);
  if (isStoppable(before)) await systemctlOk(['stop', ETCD_UNIT]);
  if (enabled) await systemctlOk(['disable', ETCD_UNIT]);
  return reply(await unitStatus(ETCD_UNIT), true, actions);
}

export function systemdService(request: Request, prepare: PrepareEtcdRun): Promise<Reply> {
  return commandFailed(async () => {
    switch (request.action) {
      case 'install': {
        const actions: string[] = [];
        await installUnit(request, actions);
        return reply(await unitStatus(ETCD_UNIT), actions.length > 0, actions);
      }
      case 'start':
        return start(request, false, prepare);
      case 'restart':
        return start(request, true, prepare);
      case 'stop':
        return stop();
      case 'status':
        return reply(await unitStatus(ETCD_UNIT), false, []);
    }
  });
}

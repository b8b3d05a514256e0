/**
 * `tskv restore` as one workflow, under the cluster lock: every host reachable and configured by
 * tskv → room for the snapshot and the restored data on each → the file streamed to every host
 * (verified by sha256 there) and read by etcd's own `snapshot status` → plan (ops/restore-plan.ts;
 * a dry run stops here) → confirm → snapshot the current data, stop, move aside, restore, start
 * together → verify; the uploaded copies are removed however it ended.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import {
  ETCD_ENV_FILE,
  routes,
  SNAPSHOT_DIR_MODE,
  SNAPSHOT_FILE_MODE,
  TSKV_SNAPSHOT_DIR,
} from '../../agent/api/index.ts';
import { describeCause, hostFailure, TskvError } from '../errors.ts';
import { envFileValue } from '../ops/config.ts';
import {
  agreeingStatus,
  type HostSpace,
  planRestore,
  type RestoreHost,
  type RestorePlan,
  type RestoreStep,
  roomProblems,
  type SnapshotFacts,
} from '../ops/restore-plan.ts';
import { peerUrl } from '../render/urls.ts';
import { forEachHost } from '../run/progress.ts';
import type { Executor } from '../run/runner.ts';
import { readHostFile } from './deploy-gather.ts';
import { serviceCall, startFailure } from './host-etcd.ts';
import { LiveCluster } from './live-cluster.ts';
import { type PlayResult, runLockedPlay } from './locked-play.ts';
import { verifyRestored } from './restore-verify.ts';
import type { HostChannel, Session } from './session.ts';
import { takeSnapshot } from './snapshot-take.ts';

/** The snapshot file as the controller checked it (ops/snapshot-file.ts). */
export interface CheckedFile {
  path: string;
  size: number;
  sha256: string;
}

export interface RestoreOptions {
  file: CheckedFile;
  /** The new initial-cluster-token (ops/restore-plan.ts restoreToken). */
  token: string;
  /** Snapshot the current data first when a member answers (false: --no-snapshot). */
  snapshotFirst: boolean;
  dryRun: boolean;
  yes: boolean;
  /** The command line that answers yes for scripts. */
  rerun: string;
  /** The command line, as the cluster lock names its holder. */
  command: string;
  breakLock: boolean;
  showPlan(plan: RestorePlan): void;
}

export interface RestoreResult extends PlayResult<RestorePlan> {
  /** What the verification found (the cluster's step). */
  verified: string[];
}

function refused(message: string, fix: string, host?: string): TskvError {
  return new TskvError('E_REFUSED', `restore refused, nothing was changed: ${message}`, {
    step: 'plan',
    fix,
    ...(host ? { host } : {}),
  });
}

/**
 * Where the file goes on every host: named by its content and by this run, so that another run of
 * the same file (a dry run beside a real one) never removes the copy this one restores from.
 */
export function remoteSnapshotPath(sha256: string): string {
  return `${TSKV_SNAPSHOT_DIR}/restore-${sha256.slice(0, 16)}-${randomBytes(4).toString('hex')}.db`;
}

interface HostFound extends RestoreHost {
  space: HostSpace;
}

/** One host's service, data dir, configuration and room. */
async function readHost(ch: HostChannel, inventoryFile: string): Promise<HostFound> {
  const name = ch.spec.name;
  const dataDir = ch.spec.dataDir;
  const [service, facts, env] = await Promise.all([
    serviceCall(ch, 'status'),
    ch.agent.call(routes.facts, { dataDir }, { step: 'facts' }),
    readHostFile(ch, ETCD_ENV_FILE),
  ]);
  const deployFirst = `run tskv deploy ${inventoryFile} first (it installs and configures etcd), then restore`;
  if (!env)
    throw refused(`etcd is not configured by tskv on ${name} (no ${ETCD_ENV_FILE})`, deployFirst, name);
  const envDir = envFileValue(env.content, 'ETCD_DATA_DIR');
  if (envDir !== dataDir) {
    throw refused(
      `${name}'s etcd is configured with data dir ${envDir ?? '(none)'}, the inventory says ${dataDir}`,
      deployFirst,
      name,
    );
  }
  // Every data dir is moved aside once all members have stopped: one that cannot be (a mount point,
  // not etcd's) is found now, before anything stops.
  await ch.agent
    .call(routes.dataDirMoveAside, { path: dataDir, checkOnly: true }, { step: 'data dir check' })
    .catch((err: unknown) => {
      throw refused(
        `${name}'s data dir cannot be moved aside: ${describeCause(err)}`,
        'restore moves every data dir aside before it writes the restored one: give etcd a data dir that is a folder of its own (not a mount point), e.g. a folder inside that disk, with tskv deploy, then restore',
        name,
      );
    });
  const disk = await ch.agent.call(
    routes.diskSpace,
    { paths: [TSKV_SNAPSHOT_DIR, dataDir] },
    { step: 'disk space' },
  );
  const [snap, data] = disk.spaces;
  return {
    name,
    dataDir,
    running: service.running,
    hasData: facts.etcd.dataDir.hasData,
    space: { host: name, snapshotDir: snap!, dataDir: data! },
  };
}

/** Streams the file to the host (never whole in memory), into the snapshot folder (0700). */
async function upload(ch: HostChannel, file: CheckedFile, remote: string): Promise<void> {
  const mkdir = await ch.conn.exec(`mkdir -p -m 0${SNAPSHOT_DIR_MODE.toString(8)} ${TSKV_SNAPSHOT_DIR}`, {
    step: 'snapshot folder',
  });
  if (mkdir.code !== 0) {
    throw new TskvError('E_UPLOAD', `cannot make ${TSKV_SNAPSHOT_DIR}: ${mkdir.stderr.trim()}`, {
      host: ch.spec.name,
      step: 'upload the snapshot',
    });
  }
  await ch.conn.upload(createReadStream(file.path, { highWaterMark: 1024 * 1024 }), remote, {
    mode: SNAPSHOT_FILE_MODE,
    // The bytes checked on the controller, and no others, arrive (the host hashes them as they come).
    sha256: file.sha256,
    step: 'upload the snapshot',
  });
}

/** Reads every host, checks room, uploads (once per run), reads the snapshot's status: the plan's input. */
class Gatherer {
  private readonly uploads = new Map<string, Promise<void>>();
  private readonly live: LiveCluster;
  private readonly options: RestoreOptions;
  readonly remote: string;

  constructor(live: LiveCluster, options: RestoreOptions) {
    this.live = live;
    this.options = options;
    this.remote = remoteSnapshotPath(options.file.sha256);
  }

  uploadedTo(): string[] {
    return [...this.uploads.keys()];
  }

  private each<T>(title: string, work: (ch: HostChannel) => Promise<T>): Promise<T[]> {
    const { session } = this.live;
    const names = session.inventory.hosts.map((h) => h.name);
    return forEachHost(title, names, (name) => work(this.live.channel(name)), session.mode).then((outcomes) =>
      names.map((name) => {
        const o = outcomes.get(name)!;
        if (!o.ok) throw hostFailure(name, title, o.error);
        return o.value;
      }),
    );
  }

  async plan(): Promise<RestorePlan> {
    const inv = this.live.session.inventory;
    const { file } = this.options;
    for (const u of this.live.session.unreachable) {
      throw refused(
        `${u.host} is not reachable (${u.observed}); a restore rebuilds every member`,
        `bring ${u.host} back (or take it out of the inventory), then restore`,
        u.host,
      );
    }
    if (inv.etcd.flags['wal-dir'] !== undefined) {
      throw refused(
        'the inventory sets etcd.flags.wal-dir, which restore does not handle yet',
        'restore by hand',
      );
    }
    const hosts = await this.each('read every host', (ch) => readHost(ch, inv.file));
    const fresh = hosts.filter((h) => !this.uploads.has(h.name));
    const room = roomProblems(
      fresh.map((h) => h.space),
      file.size,
    );
    if (room.length > 0) {
      throw new TskvError(
        'E_NO_SPACE',
        `restore refused, nothing was changed: no room for the snapshot (${file.size} bytes) and its restored data:\n  ${room.join('\n  ')}`,
        { step: 'check room', fix: 'free space there (or choose a data dir with room), then restore' },
      );
    }
    const statuses = await this.each('upload and read the snapshot', async (ch) => {
      let up = this.uploads.get(ch.spec.name);
      if (!up) {
        up = upload(ch, file, this.remote);
        this.uploads.set(ch.spec.name, up);
      }
      await up;
      const status = await ch.agent.call(
        routes.snapshotStatus,
        { file: this.remote },
        { step: 'snapshot status', timeoutMs: 6 * 60_000 }, // beyond the agent's own 5 minutes
      );
      return { host: ch.spec.name, status };
    });
    const status = agreeingStatus(statuses);
    const snapshot: SnapshotFacts = {
      file: file.path,
      remote: this.remote,
      size: file.size,
      sha256: file.sha256,
      revision: status.revision,
      totalKey: status.totalKey,
    };
    const current = await currentState(this.live);
    return planRestore({
      hosts,
      members: inv.hosts.map((h) => ({ name: h.name, peerUrl: peerUrl(h, inv) })),
      snapshot,
      currentRevision: current.revision,
      healthy: current.healthy,
      token: this.options.token,
      snapshotFirst: this.options.snapshotFirst,
    });
  }

  /**
   * The uploaded copies go (however the run ended). A run that held the cluster lock also removes
   * those of runs killed before they could (a dry run, which takes no lock, only its own: another
   * run may be restoring from its copy).
   */
  async removeUploads(locked: boolean): Promise<void> {
    const copies = locked ? `${TSKV_SNAPSHOT_DIR}/restore-*.db` : this.remote;
    await Promise.all(
      this.uploadedTo().map((name) =>
        this.live
          .channel(name)
          .conn.exec(`rm -f ${copies}`, { step: 'remove the uploaded snapshot' })
          .catch(() => undefined),
      ),
    );
  }
}

/** The highest revision a member reports (when any answers), and whether any member is healthy. */
async function currentState(live: LiveCluster): Promise<{ revision: number | undefined; healthy: boolean }> {
  const cluster = live.cluster(3000);
  const [statuses, health] = await Promise.all([cluster.statusAll(), cluster.healthAll()]);
  const revisions = statuses.flatMap((s) => (s.ok ? [s.value.revision] : []));
  return {
    revision: revisions.length > 0 ? Math.max(...revisions) : undefined,
    healthy: health.some((h) => h.ok && h.value.healthy),
  };
}

/** The current data, on the first healthy member in inventory order (its host keeps the newest few). */
async function snapshotCurrent(live: LiveCluster): Promise<string[]> {
  const inv = live.session.inventory;
  const channels = inv.hosts.flatMap((h) => {
    const ch = live.session.hosts.get(h.name);
    return ch ? [ch] : [];
  });
  try {
    const s = await takeSnapshot(channels, { keep: inv.snapshots.keep });
    return [
      `snapshot of the current data (revision ${s.revision}, ${s.size} bytes) kept on ${s.host} at ${s.path}`,
    ];
  } catch (err) {
    const e = err instanceof TskvError ? err : undefined;
    throw new TskvError(e?.code ?? 'E_SNAPSHOT', `${describeCause(err)}\nnothing was changed`, {
      step: 'snapshot the current data',
      fix: `${e?.fix ? `${e.fix}; or ` : ''}skip it with --no-snapshot (every data dir is still moved aside, never deleted)`,
    });
  }
}

export function restoreExecutor(live: LiveCluster): Executor<RestoreStep> {
  return async (step, progress) => {
    if (step.kind === 'verify') return verifyRestored(live, step.revision, progress);
    if (step.kind === 'snapshot-current') return snapshotCurrent(live);
    const ch = live.channel(step.host);
    switch (step.kind) {
      case 'stop':
        return (await serviceCall(ch, 'stop')).actions;
      case 'move-aside': {
        const r = await ch.agent.call(
          routes.dataDirMoveAside,
          { path: step.dataDir },
          { step: `move ${step.dataDir} aside` },
        );
        return r.actions;
      }
      case 'restore': {
        const r = await ch.agent.call(routes.snapshotRestore, step.request, {
          step: 'restore from the snapshot',
          timeoutMs: 11 * 60_000, // beyond the agent's own 10 minutes
        });
        return r.actions;
      }
      case 'start': {
        const s = await serviceCall(ch, 'start');
        if (!s.running) throw await startFailure(ch, step.title, `etcd did not start on ${step.host}`);
        return s.actions;
      }
    }
  };
}

function question(plan: RestorePlan, rerun: string) {
  return {
    what: `stop every member and rebuild the cluster from ${plan.snapshot.file}: ${plan.rollback}`,
    rerun,
  };
}

export async function runRestore(session: Session, options: RestoreOptions): Promise<RestoreResult> {
  const live = new LiveCluster(session);
  const gather = new Gatherer(live, options);
  try {
    const result = await runLockedPlay(session, {
      ...options,
      plan: () => gather.plan(),
      show: options.showPlan,
      question: (plan) => question(plan, options.rerun),
      execute: restoreExecutor(live),
      declined: 'not restoring',
    });
    return { ...result, verified: result.ok ? (result.actions['cluster'] ?? []) : [] };
  } finally {
    // However it ended, the copies served their purpose (the file stays on the controller; a re-run
    // uploads it again): hosts keep no extra bytes.
    await gather.removeUploads(!options.dryRun);
    await live.close();
  }
}

/**
 * Kill sweeps: run a changing command, SIGKILL it at an exact step (the runner's seams, through
 * test/e2e/tskv-seams.ts), re-run it, and check what it left. And a monitor that samples the
 * cluster while that happens, so a test can tell which acknowledged writes landed while a member
 * was out, and how many members were out at once.
 */
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import type { EtcdCluster } from '../../controller/etcd/index.ts';
import { type CliResult, spawnTskv } from './cli.ts';
import { type Live, openLive, SequentialWriter } from './replace-helpers.ts';

/**
 * Where to stop a run: `before` AT (as step AT starts), or `mid` AT (at its first progress line
 * holding `line`, default any). AT: the step's index, KIND@HOST, or KIND for a cluster step.
 */
export type KillPoint = { before: string } | { mid: string; line?: string };

export const pointLabel = (p: KillPoint): string =>
  'before' in p ? `before ${p.before}` : `in the middle of ${p.mid}${p.line ? ` (at "${p.line}")` : ''}`;

/** Runs `tskv args` and SIGKILLs it at `point`; fails the test unless the seam fired and the run died there. */
export async function killedAt(args: string[], point: KillPoint): Promise<CliResult> {
  const where =
    'before' in point
      ? ['--before', point.before]
      : ['--mid', point.mid, ...(point.line ? ['--mid-line', point.line] : [])];
  const run = spawnTskv(args, { seams: [...where, '--do', 'kill'] });
  const timer = setTimeout(() => run.kill(), 180_000);
  try {
    const r = await run.exited;
    assert.match(
      r.stderr,
      /^seam: /m,
      `the run never reached ${pointLabel(point)}:\n${r.stdout}\n${r.stderr.slice(-3000)}`,
    );
    assert.equal(r.code, null, `killed at ${pointLabel(point)}, not exited`);
    return r;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Kills `tskv args` at each of `points` in turn: every run after the first is the re-run of the
 * one killed before it, so each boundary after the first is reached by a resumed run, and one
 * change (one lab, one deploy) covers several boundaries. The caller re-runs it once more to the end.
 */
export async function killedInTurn(args: string[], points: KillPoint[]): Promise<CliResult[]> {
  const runs: CliResult[] = [];
  for (const point of points) runs.push(await killedAt(args, point));
  return runs;
}

interface Sample {
  at: number;
  /**
   * Members out, by name: their etcd does not answer (stopped, restarting, its host unreachable).
   * Not a member that answers but reports no leader for the moment leadership moves (etcd hands it
   * over as the leader stops): that one is up, and counting it made a single restart look like two.
   */
  down: string[];
  members: number;
  learners: number;
}

/**
 * Samples the cluster every `everyMs` through connections of its own: members, learners, and which
 * members are out. `expected` members, none out, none a learner, is "whole". Its own, so
 * that no request of the test's writer (which can wait seconds for a restarting member) holds up a
 * sample taken while a member is out.
 */
export class ClusterMonitor {
  readonly samples: Sample[] = [];
  readonly expected: number;
  #running = true;
  readonly #done: Promise<void>;

  static async watch(inventoryPath: string, expected: number, everyMs = 100): Promise<ClusterMonitor> {
    return new ClusterMonitor(await openLive(inventoryPath), expected, everyMs);
  }

  private constructor(own: Live, expected: number, everyMs: number) {
    this.expected = expected;
    const live = own.live;
    this.#done = (async () => {
      while (this.#running) {
        const at = Date.now();
        try {
          const view = await live.view();
          this.samples.push({
            at,
            down: view.probes.filter((p) => !p.health.reachable).map((p) => p.member.name || p.member.idHex),
            members: view.members.length,
            learners: view.members.filter((m) => m.isLearner).length,
          });
        } catch {
          this.samples.push({ at, down: ['(no member list)'], members: 0, learners: 0 });
        }
        await delay(everyMs);
      }
    })().finally(() => own.close());
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#done;
  }

  #whole(s: Sample): boolean {
    return s.down.length === 0 && s.members === this.expected && s.learners === 0;
  }

  /** Whether the sample taken last before `t` saw the cluster less than whole. */
  degradedAt(t: number): boolean {
    const before = this.samples.filter((s) => s.at <= t).at(-1);
    return before !== undefined && !this.#whole(before);
  }

  /** The most members seen out in one sample. */
  maxDownAtOnce(): number {
    return Math.max(0, ...this.samples.map((s) => s.down.length));
  }

  /** Each distinct member name seen down at some point. */
  everDown(): Set<string> {
    return new Set(this.samples.flatMap((s) => s.down));
  }
}

/**
 * Runs `work` (a tskv command, say) while a SequentialWriter writes through `cluster` and a
 * ClusterMonitor watches `inventoryPath`; both stop however `work` ends. `ms`: how long it took.
 */
export async function underWriter<T>(
  cluster: EtcdCluster,
  prefix: string,
  inventoryPath: string,
  work: () => Promise<T>,
  pauseMs = 0,
): Promise<{ result: T; ms: number; writer: SequentialWriter; monitor: ClusterMonitor }> {
  const writer = new SequentialWriter(cluster, prefix, pauseMs);
  const monitor = await ClusterMonitor.watch(inventoryPath, 3).catch(async (err: unknown) => {
    await writer.stop();
    throw err;
  });
  const started = Date.now();
  try {
    const result = await work();
    return { result, ms: Date.now() - started, writer, monitor };
  } finally {
    await writer.stop();
    await monitor.stop();
  }
}

/**
 * What one timed run costs the controller: CPU time and peak memory of everything it started, and
 * the bytes it sent into the lab (lab bridge counter, see link-shape.ts).
 *
 * CPU: the run is started inside a cgroup v2 of the bench's own (`tskv-bench-<lab>`, created under
 * the machine's cgroup2 mount and removed at the end), and its CPU is the growth of that cgroup's
 * `cpu.stat` usage over the run. Unlike getrusage of the children (GNU time's %U/%S), this counts
 * processes that detach from the run: Ansible's ssh ControlPersist masters do all its encryption
 * and start the proxy commands (socat) that copy every byte, yet are never waited for by
 * ansible-playbook. The no-op re-run reuses those masters, so the delta over the interval (not a
 * cgroup per run) attributes their work to the run that caused it. Without a cgroup2 mount the
 * figure falls back to GNU time's user+system of waited-for children (noted in the report).
 *
 * Peak memory: GNU time's maximum resident set size (%M), the kernel's own high-water mark of the
 * run's largest process (tskv's node process; ansible-playbook's main process), exact without
 * sampling, as the snapshot bench reports it. A cgroup's memory peak would count page cache
 * (the tarball read from disk), which is not the controller's memory.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunOptions } from '../../lab/run.ts';
import { sentBytes } from './link-shape.ts';
import { type TimedRun, timedRun } from './timed-run.ts';

export interface Usage {
  /** Bytes the controller sent into the lab during the run. */
  sentBytes: number;
  /** User + system CPU of the run's processes, in ms. */
  cpuMs: number;
  /** Peak RSS of the run's largest process, in KB. */
  maxRssKb: number;
}

export interface MeasuredRun extends TimedRun {
  usage?: Usage;
}

/** Runs a command as timedRun does, with its usage; `netns`: the lab's bridge namespace. */
export type Exec = (cmd: string, args: string[], options?: RunOptions) => Promise<MeasuredRun>;

/** Where cgroup2 is mounted (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on a hybrid machine). */
export function cgroup2Mount(procMounts: string): string | undefined {
  for (const line of procMounts.split('\n')) {
    const [, where, type] = line.split(' ');
    if (type === 'cgroup2' && where) return where;
  }
  return undefined;
}

/** `usage_usec` of a cgroup's `cpu.stat`. */
export function cpuUsageUsec(cpuStat: string): number {
  const m = /^usage_usec (\d+)$/m.exec(cpuStat);
  if (!m) throw new Error(`no usage_usec in cpu.stat: ${cpuStat.slice(0, 200)}`);
  return Number(m[1]);
}

/** GNU time's `-f` line as written by this module: peak RSS in KB, user and system seconds. */
export function parseTimeFile(text: string): { maxRssKb: number; cpuMs: number } {
  const m = /tskv-bench-usage maxrss=(\d+) user=([\d.]+) sys=([\d.]+)/.exec(text);
  if (!m) throw new Error(`GNU time wrote no usage line: ${text.trim().slice(-300)}`);
  return { maxRssKb: Number(m[1]), cpuMs: (Number(m[2]) + Number(m[3])) * 1000 };
}

/** Megabytes (10^6 bytes), as link rates count. */
export const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
/** KB (1024 bytes, as GNU time reports RSS) in MiB. */
export const mebibytes = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;

/** One line: what a run cost the controller. */
export function describeUsage(u: Usage): string {
  return `sent ${megabytes(u.sentBytes)}, CPU ${(u.cpuMs / 1000).toFixed(2)} s, peak RSS ${mebibytes(u.maxRssKb)}`;
}

export class UsageMeter {
  /** The bench's cgroup directory, undefined when cgroup2 is not mounted (GNU time's CPU then). */
  readonly cgroup: string | undefined;
  readonly #tmp: string;

  constructor(lab: string) {
    this.#tmp = mkdtempSync(join(tmpdir(), 'tskv-bench-usage-'));
    const mount = cgroup2Mount(readFileSync('/proc/mounts', 'utf8'));
    if (mount) {
      this.cgroup = join(mount, `tskv-bench-${lab}`);
      mkdirSync(this.cgroup, { recursive: true });
    }
  }

  /** What the report says about how CPU was measured. */
  get cpuSource(): string {
    return this.cgroup
      ? `CPU: growth of cgroup ${this.cgroup}'s cpu.stat usage over the run (every process it started, detached ssh masters included)`
      : "CPU: GNU time's user+system of waited-for children (no cgroup2 mount: detached ssh masters are missed)";
  }

  /** An Exec measuring each run in the lab whose bridge namespace is `netns`. */
  exec(netns: string): Exec {
    return async (cmd, args, options = {}) => {
      const timeFile = join(this.#tmp, 'time.txt');
      rmSync(timeFile, { force: true });
      const enter = this.cgroup
        ? ['sh', '-c', 'echo $$ > "$0" && exec "$@"', join(this.cgroup, 'cgroup.procs')]
        : [];
      const format = 'tskv-bench-usage maxrss=%M user=%U sys=%S';
      const bytesBefore = await sentBytes(netns);
      const cpuBefore = this.#cpuUsec();
      const r = await timedRun(
        '/usr/bin/time',
        ['-o', timeFile, '-f', format, ...enter, cmd, ...args],
        options,
      );
      const cpuAfter = this.#cpuUsec();
      const bytesAfter = await sentBytes(netns);
      const time = parseTimeFile(readFileSync(timeFile, 'utf8'));
      const cpuMs =
        cpuBefore !== undefined && cpuAfter !== undefined ? (cpuAfter - cpuBefore) / 1000 : time.cpuMs;
      return { ...r, usage: { sentBytes: bytesAfter - bytesBefore, cpuMs, maxRssKb: time.maxRssKb } };
    };
  }

  #cpuUsec(): number | undefined {
    return this.cgroup ? cpuUsageUsec(readFileSync(join(this.cgroup, 'cpu.stat'), 'utf8')) : undefined;
  }

  /** Removes the cgroup (once the run's detached processes, e.g. ssh masters, are gone); a note if it cannot. */
  close(): string | undefined {
    rmSync(this.#tmp, { recursive: true, force: true });
    if (!this.cgroup) return undefined;
    try {
      rmdirSync(this.cgroup);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code === 'EBUSY') return `cgroup ${this.cgroup} kept: processes of a run are still in it`;
      throw err;
    }
    return undefined;
  }
}

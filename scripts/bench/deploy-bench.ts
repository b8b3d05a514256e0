/**
 * Issue 4's speed figures, one run each: tskv and the Ansible playbook deploying the same
 * 3-member cluster onto bare lab hosts, then re-running on the converged cluster. Both sides run
 * TLS (issue 12): tskv with `tls.mode auto`, the playbook with its own CA (community.crypto).
 */
import { existsSync } from 'node:fs';
import { Lab } from '../../lab/lab.ts';
import type { LabInit } from '../../lab/names.ts';
import { run as runCommand } from '../../lab/run.ts';
import type { AnsibleRunner } from './ansible-run.ts';
import { type LinkRate, shapeLink } from './link-shape.ts';
import { type PhaseTime, phaseTimes } from './phases.ts';
import { Series, type SeriesContext } from './series.ts';
import { type TimedRun, TSKV, timedRun } from './timed-run.ts';
import type { Exec, MeasuredRun, UsageMeter } from './usage.ts';

export const DEPLOY_HOSTS = ['h102', 'docker', 'h104'];

/** The lab's host names for `count` hosts: the seed's three, then h105, h106, ... */
export function deployHosts(count: number): string[] {
  const extra = Array.from({ length: Math.max(0, count - DEPLOY_HOSTS.length) }, (_, i) => `h${105 + i}`);
  return [...DEPLOY_HOSTS, ...extra].slice(0, count);
}

/** A deploy bench over a link of its own (issue 16): how many hosts, the link's rate, what to measure. */
export interface LinkOptions {
  hosts: number;
  rate: LinkRate;
  meter: UsageMeter;
}

/** What Ansible's PLAY RECAP says it changed (a converged re-run changes only the test key: 2). */
export function ansibleChanges(stdout: string): number {
  return [...stdout.matchAll(/ changed=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

export class DeployBench {
  readonly tskvFresh: Series;
  readonly tskvNoop: Series;
  readonly ansibleFresh: Series;
  readonly ansibleNoop: Series;
  /** Per successful tskv run, the time of each of its phases. */
  readonly tskvPhases: { fresh: PhaseTime[][]; noop: PhaseTime[][] } = { fresh: [], noop: [] };
  /** The etcd version the lab deploys (known after the first run). */
  etcdVersion = '?';
  readonly #lab: string;
  readonly #ctx: SeriesContext;
  readonly #init: LabInit;
  readonly #hosts: string[];
  readonly #link: LinkOptions | undefined;
  /** How the current lab's runs are run (measured when there is a link). */
  #exec: Exec = timedRun;

  /**
   * `init`: the lab's hosts run systemd (etcd a unit) or no init (tskv's supervisor). `link`:
   * the lab's host count and controller link, each run measured (bytes sent, CPU, peak RSS).
   */
  constructor(labName: string, ctx: SeriesContext, init: LabInit = 'none', link?: LinkOptions) {
    this.#lab = labName;
    this.#ctx = ctx;
    this.#init = init;
    this.#link = link;
    this.#hosts = link ? deployHosts(link.hosts) : DEPLOY_HOSTS;
    const on = [
      ...(init === 'systemd' ? ['systemd hosts'] : []),
      ...(link ? [`${link.hosts} hosts`, link.rate.label] : []),
    ]
      .map((x) => `, ${x}`)
      .join('');
    this.tskvFresh = new Series(`tskv deploy (fresh${on})`, ctx);
    this.tskvNoop = new Series(`tskv deploy (no-op${on})`, ctx);
    this.ansibleFresh = new Series(`ansible-playbook (fresh${on})`, ctx);
    this.ansibleNoop = new Series(`ansible-playbook (no-op${on})`, ctx);
  }

  /**
   * Bare hosts (not timed); returns the lab's inventory path. TLS is said explicitly (it is also
   * the default for a new cluster). A fresh lab has no PKI folder (its teardown removes it), so
   * the fresh run makes the CA and every certificate; refused if one is left. With a link, the
   * lab's controller link is shaped (the lab's teardown removes it with the lab's namespace).
   */
  async #bareLab(): Promise<string> {
    const lab = await Lab.up({
      name: this.#lab,
      hosts: this.#hosts,
      fresh: true,
      init: this.#init,
      inventory: { tls: { mode: 'auto' } },
    });
    this.etcdVersion = lab.state.etcd.version;
    const { tls } = await lab.inventory();
    if (existsSync(tls.dir)) throw new Error(`the bare lab still has a PKI folder: ${tls.dir}`);
    if (this.#link) {
      await shapeLink(lab.layout.netns, this.#link.rate);
      this.#exec = this.#link.meter.exec(lab.layout.netns);
    }
    return lab.inventoryPath;
  }

  /** A fresh run, and the re-run when the fresh one succeeded. */
  async #pair(
    run: number,
    fresh: Series,
    noop: Series,
    once: () => Promise<MeasuredRun>,
  ): Promise<TimedRun | undefined> {
    if (!fresh.record(await once(), run)) return undefined;
    const again = await once();
    return noop.record(again, run) ? again : undefined;
  }

  async tskv(run: number): Promise<void> {
    this.#ctx.log(`run ${run}: tskv on bare hosts (init: ${this.#init})`);
    const inventory = await this.#bareLab();
    const runs: TimedRun[] = [];
    const deploy = async () => {
      const r = await this.#exec(TSKV, ['deploy', inventory, '--yes']);
      if (r.code === 0) runs.push(r);
      return r;
    };
    const noop = await this.#pair(run, this.tskvFresh, this.tskvNoop, deploy);
    const [fresh, again] = runs.map((r) => phaseTimes(r.lines, this.#hosts));
    if (fresh) this.tskvPhases.fresh.push(fresh);
    if (again) this.tskvPhases.noop.push(again);
    const made = runs[0] ? `${runs[0].stdout}${runs[0].stderr}` : '';
    if (runs[0] && !/created ca\.crt/.test(made))
      this.#ctx.notes.push(`run ${run}: tskv's fresh run did not make a CA (its PKI folder was not empty?)`);
    if (noop && !/nothing to do/.test(noop.stdout))
      this.#ctx.notes.push(`run ${run}: tskv's re-run did not say "nothing to do"`);
    if (noop) await this.#checkTls(run, inventory);
  }

  /** Not timed: every member answers /health over https with the client certificate of tskv's PKI. */
  async #checkTls(run: number, inventory: string): Promise<void> {
    const r = await runCommand(TSKV, ['etcdctl', inventory, '--', 'endpoint', 'health', '--cluster']);
    const said = `${r.stdout}${r.stderr}`;
    const healthy = said.match(/^https:\/\/\S+ is healthy/gm) ?? [];
    if (r.code !== 0 || healthy.length !== this.#hosts.length) {
      this.#ctx.notes.push(
        `run ${run}: tskv's cluster is not healthy over TLS afterwards: ${said.trim().replaceAll('\n', ' | ')}`,
      );
    }
  }

  async ansible(run: number, runner: AnsibleRunner): Promise<void> {
    this.#ctx.log(`run ${run}: Ansible on bare hosts`);
    const inventory = await runner.writeInventory(await this.#bareLab(), this.#lab);
    try {
      const noop = await this.#pair(run, this.ansibleFresh, this.ansibleNoop, () =>
        runner.playbook(inventory, this.#exec),
      );
      const changed = noop ? ansibleChanges(noop.stdout) : 0;
      if (changed > 2)
        this.#ctx.notes.push(`run ${run}: Ansible's re-run changed ${changed} things (2 expected)`);
    } finally {
      await runner.closeConnections();
    }
  }
}

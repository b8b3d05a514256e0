/**
 * The lab of real hosts, for tests and for `tskv lab` (in the spirit of etcd's e2e framework):
 *
 *   const lab = await Lab.up({ name: 'deploy', hosts: ['h102', 'docker', 'h104'] });
 *   after(() => lab.down());
 *   await lab.hosts[0].exec('hostname');   // lab.inventoryPath for the controller
 *
 * Hosts keep running after the process that started them exits; `Lab.attach(name)` picks them up.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InputError, TskvError } from '../controller/errors.ts';
import { loadInventory } from '../controller/inventory/load.ts';
import type { Inventory } from '../controller/inventory/model.ts';
import { type BootedHost, bootHost, powerOff } from './boot.ts';
import { type EtcdMinor, type EtcdTarball, ensureEtcdTarball } from './etcd-tarball.ts';
import { LabHost } from './host.ts';
import {
  type InventoryOverrides,
  inventoryText,
  type LabInventoryDoc,
  mergeOverrides,
} from './inventory-file.ts';
import {
  DEFAULT_HOSTS,
  DEFAULT_INIT,
  DEFAULT_LAB,
  type LabInit,
  type LabLayout,
  labLayout,
  validateHostNames,
} from './names.ts';
import { assertSubnetFree, createBridge, createHostNetwork } from './network.ts';
import { ensureKey, ensurePackages, requireLab } from './setup.ts';
import { deadHosts, type LabState, readState, writeState } from './state.ts';
import { teardown } from './teardown.ts';

export interface LabUpOptions {
  name?: string;
  hosts?: string[];
  /** 'none' (default: the host's own init script starts dbus, firewalld, sshd) or 'systemd' (PID 1). */
  init?: LabInit;
  /** Start from bare hosts even when the lab is already up (tests: no state left by an earlier run). */
  fresh?: boolean;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
  /**
   * What every inventory of this Lab object says beyond the lab's own (inventoryPath and
   * writeInventory's variants), e.g. `{ tls: { mode: 'off' } }` for the seed's plain-HTTP flow.
   */
  inventory?: InventoryOverrides;
}

export interface LabHostStatus {
  name: string;
  address: string;
  pid: number;
  running: boolean;
  init: LabInit;
  /** `systemctl is-system-running` on a systemd host (undefined without systemd). */
  system: string | undefined;
  sshd: boolean;
  firewalld: string;
  skew: string | undefined;
}

export class Lab {
  readonly name: string;
  readonly layout: LabLayout;
  readonly hosts: LabHost[];
  readonly state: LabState;
  /** LabUpOptions.inventory. */
  #inventory: InventoryOverrides = {};

  private constructor(layout: LabLayout, state: LabState) {
    this.name = layout.name;
    this.layout = layout;
    this.state = state;
    this.hosts = state.hosts.map((h) => new LabHost(h.name, h.address, h.pid, h.init ?? state.init));
  }

  /** `.lab/<name>/inventory.yaml`: the lab's inventory for the controller. */
  get inventoryPath(): string {
    return this.layout.inventoryPath;
  }

  /** How the hosts start their services when they come up (a reboot may give one host another: LabHost.init). */
  get init(): LabInit {
    return this.state.init;
  }

  /** Brings the lab up, or returns it as is when it is already up with the same hosts and init. */
  static async up(options: LabUpOptions = {}): Promise<Lab> {
    requireLab();
    const name = options.name ?? DEFAULT_LAB;
    const hostNames = validateHostNames(options.hosts ?? DEFAULT_HOSTS);
    const init = options.init ?? DEFAULT_INIT;
    const log = options.log ?? (() => {});
    const layout = labLayout(name, hostNames);
    const running = options.fresh ? undefined : Lab.tryAttach(name);
    if (running) {
      const have = running.hosts.map((h) => h.name).join(',');
      if (have !== hostNames.join(',')) {
        throw new InputError(`lab '${name}' is up with hosts ${have}, not ${hostNames.join(',')}`, {
          fix: `run 'tskv lab down --name ${name}' first, or use another --name`,
        });
      }
      if (running.init !== init) {
        throw new InputError(`lab '${name}' is up with init ${running.init}, not ${init}`, {
          fix: `run 'tskv lab down --name ${name}' first, or use another --name`,
        });
      }
      running.#inventory = options.inventory ?? {};
      running.writeInventoryFile(layout.inventoryPath, running.inventoryDoc());
      log(`lab '${name}' is already up`);
      return running;
    }
    const started = Date.now();
    await teardown(layout); // whatever a crashed earlier run left
    mkdirSync(layout.dir, { recursive: true });
    await ensurePackages(log);
    const tarball = ensureEtcdTarball('3.4');
    tarball.catch(() => {}); // awaited below; failures then surface there
    const publicKey = await ensureKey(layout);
    await assertSubnetFree(layout);
    try {
      await createBridge(layout);
      log(`starting ${hostNames.join(', ')} on ${layout.subnet} (init: ${init})`);
      const booted = await Promise.all(
        layout.hosts.map(async (host) => {
          await createHostNetwork(layout, host);
          const pids = await bootHost(host, { lab: name, init, publicKey });
          return { name: host.name, address: host.address, ...pids };
        }),
      );
      const state: LabState = {
        name,
        init,
        hosts: booted,
        etcd: await tarball,
        createdAt: new Date().toISOString(),
        upMs: 0,
      };
      const lab = new Lab(layout, state);
      lab.#inventory = options.inventory ?? {};
      await lab.refreshKnownHosts();
      state.upMs = Date.now() - started;
      writeState(layout, state);
      lab.writeInventoryFile(layout.inventoryPath, lab.inventoryDoc());
      log(`lab '${name}' up in ${(state.upMs / 1000).toFixed(1)} s`);
      return lab;
    } catch (err) {
      await teardown(layout).catch(() => {});
      throw err;
    }
  }

  /**
   * The running lab `name`; a TskvError when it is not up. `allowStopped`: also when some of its
   * hosts stopped (to reboot them), as long as its state is there.
   */
  static attach(name: string = DEFAULT_LAB, { allowStopped = false } = {}): Lab {
    const lab = Lab.tryAttach(name);
    if (lab) return lab;
    const state = readState(labLayout(name));
    if (state && allowStopped) {
      return new Lab(
        labLayout(
          name,
          state.hosts.map((h) => h.name),
        ),
        state,
      );
    }
    const dead = state
      ? deadHosts(
          labLayout(
            name,
            state.hosts.map((h) => h.name),
          ),
          state,
        )
      : [];
    const why = dead.length > 0 ? ` (${dead.join(', ')} stopped)` : '';
    throw new TskvError('E_LAB_NOT_UP', `lab '${name}' is not up${why}`, {
      fix: `run 'tskv lab up --name ${name}'${why ? ' (it restarts the whole lab)' : ''}`,
    });
  }

  private static tryAttach(name: string): Lab | undefined {
    const state = readState(labLayout(name));
    if (!state) return undefined;
    const layout = labLayout(
      name,
      state.hosts.map((h) => h.name),
    );
    return deadHosts(layout, state).length === 0 ? new Lab(layout, state) : undefined;
  }

  /** Removes everything lab `name` made on this machine; safe when nothing is up. */
  static async down(name: string = DEFAULT_LAB): Promise<{ namespaces: string[]; processes: number }> {
    requireLab();
    return teardown(labLayout(name));
  }

  down(): Promise<{ namespaces: string[]; processes: number }> {
    return Lab.down(this.name);
  }

  host(name: string): LabHost {
    const host = this.hosts.find((h) => h.name === name);
    if (!host)
      throw new InputError(
        `lab '${this.name}' has no host '${name}' (hosts: ${this.hosts.map((h) => h.name).join(', ')})`,
      );
    return host;
  }

  /**
   * Power-cycles `hosts` (several at once: in parallel): everything in them is SIGKILLed, no clean
   * shutdown, and they boot again on the same disk. What they wrote to disk survives (/etc, /var,
   * /usr/local, /opt, /root, /home...), their memory does not (/run and /tmp are empty again, no
   * process survives); address, SSH host keys (known_hosts stays valid) and machine-id stay.
   * Resolves when every one of them is ready again; also boots hosts that had stopped.
   * `init`: the init they boot with from now on (a host that gains or loses systemd; its first
   * boot with systemd disables what a bare server would not run, as on a new systemd host).
   */
  async reboot(hosts: string | string[], { init }: { init?: LabInit } = {}): Promise<void> {
    const names = [...new Set(typeof hosts === 'string' ? [hosts] : hosts)];
    const targets = names.map((name) => this.host(name));
    const publicKey = readFileSync(`${this.layout.keyPath}.pub`, 'utf8').trim();
    const results = await Promise.allSettled(
      targets.map(async (host) => {
        const layout = this.layout.hosts.find((h) => h.name === host.name)!;
        await powerOff(layout, this.name, host.init);
        const hostState = this.state.hosts.find((h) => h.name === host.name)!;
        if (init !== undefined && init !== host.init) {
          host.init = init;
          if (init === this.state.init) delete hostState.init;
          else hostState.init = init;
        }
        // Recorded as soon as it runs: a host that fails to become ready stays up, to be looked at.
        const onStarted = (booted: BootedHost) => {
          host.pid = booted.pid;
          Object.assign(hostState, booted);
        };
        await bootHost(layout, { lab: this.name, init: host.init, publicKey, reboot: true, onStarted });
      }),
    );
    writeState(this.layout, this.state);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Power-cycles every host at once (see reboot). */
  rebootAll(): Promise<void> {
    return this.reboot(this.hosts.map((h) => h.name));
  }

  /** Clock offset for `host`'s processes started from now on (libfaketime); 0 removes it. */
  skew(host: string, seconds: number): Promise<void> {
    return this.host(host).setSkew(seconds);
  }

  /** The official-layout tarball of etcd 3.4 or 3.5 (3.5 is built on first use: an apt update from sid). */
  etcdTarball(minor: EtcdMinor): Promise<EtcdTarball> {
    return ensureEtcdTarball(minor);
  }

  /** An inventory file of this lab (default: inventory.yaml) as the controller loads it. */
  inventory(path: string = this.inventoryPath): Promise<Inventory> {
    return loadInventory(path);
  }

  /** An OpenSSH command line that logs into `host` the way the inventory says. */
  sshCommand(host: string): string {
    const { layout } = this;
    const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    return (
      `ssh -i ${q(layout.keyPath)} -o IdentitiesOnly=yes -o UserKnownHostsFile=${q(layout.knownHostsPath)} ` +
      `-o StrictHostKeyChecking=yes -o ProxyCommand=${q(layout.proxyCommand)} root@${this.host(host).address}`
    );
  }

  /** The lab inventory as data (what inventory.yaml holds). */
  inventoryDoc(): LabInventoryDoc {
    const { layout, state } = this;
    return mergeOverrides<LabInventoryDoc>(
      {
        cluster: { token: `tskv-lab-${layout.name}` },
        etcd: { version: state.etcd.version, source: state.etcd.path, flags: { 'enable-v2': true } },
        ssh: {
          user: 'root',
          port: 22,
          identityFile: layout.keyPath,
          knownHosts: layout.knownHostsPath,
          hostKeyPolicy: 'strict',
          proxyCommand: layout.proxyCommand,
        },
        hosts: Object.fromEntries(state.hosts.map((h) => [h.name, { address: h.address }])),
      },
      this.#inventory,
    );
  }

  /**
   * Writes a variant of the lab inventory (overrides merge into inventoryDoc(); null removes a
   * key, e.g. `{ hosts: { h104: null } }`) and returns its path (in the lab's folder). A variant
   * that says nothing of tls shares the lab inventory's PKI folder (its default one is named after
   * the file): a variant is the same cluster.
   */
  writeInventory(overrides: InventoryOverrides = {}, fileName?: string): string {
    const digest = createHash('sha256').update(JSON.stringify(overrides)).digest('hex').slice(0, 10);
    const path = join(this.layout.dir, fileName ?? `inventory-${digest}.yaml`);
    const base = this.inventoryDoc();
    const shared =
      overrides.tls === undefined && base.tls?.dir === undefined
        ? mergeOverrides(base, { tls: { dir: `${basename(this.layout.inventoryPath, '.yaml')}.pki` } })
        : base;
    this.writeInventoryFile(path, mergeOverrides(shared, overrides));
    return path;
  }

  private writeInventoryFile(path: string, doc: LabInventoryDoc): void {
    writeFileSync(path, inventoryText(doc, this.name));
  }

  /** Rewrites the lab's known_hosts with every host's current keys, read from the host itself. */
  async refreshKnownHosts(): Promise<void> {
    const lines = await Promise.all(
      this.hosts.map(async (host) => {
        const keys = await host.execOk('cat /etc/ssh/ssh_host_*_key.pub');
        return keys
          .trim()
          .split('\n')
          .map((line) => line.split(' ').slice(0, 2).join(' '))
          .map((key) => `${host.address} ${key}\n`)
          .join('');
      }),
    );
    writeFileSync(this.layout.knownHostsPath, lines.join(''));
  }

  /** Per host: alive, sshd listening, firewalld state, skew, and systemd's view of the system. */
  async status(): Promise<LabHostStatus[]> {
    const script =
      "if ss -Hltn 'sport = :22' | grep -q LISTEN; then echo sshd=yes; else echo sshd=no; fi; " +
      'echo "firewalld=$(firewall-cmd --state 2>&1)"; echo "skew=$(cat /etc/faketimerc 2>/dev/null)"' +
      '; if [ -d /run/systemd/system ]; then echo "system=$(systemctl is-system-running 2>&1)"; fi';
    return Promise.all(
      this.hosts.map(async (host) => {
        const out = (await host.exec(script)).stdout;
        const field = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(out)?.[1]?.trim();
        return {
          name: host.name,
          address: host.address,
          pid: host.pid,
          running: true,
          init: host.init,
          system: field('system') || undefined,
          sshd: field('sshd') === 'yes',
          firewalld: field('firewalld') || 'unknown',
          skew: field('skew') || undefined,
        };
      }),
    );
  }
}

export type { LabHost } from './host.ts';
export { labUnavailableReason } from './setup.ts';

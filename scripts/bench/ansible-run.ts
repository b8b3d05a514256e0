/**
 * Runs the benchmark's Ansible playbook (scripts/bench/ansible/deploy-etcd.yml) against a tskv
 * inventory, timed like the tskv CLI: the whole `ansible-playbook` process.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInventory } from '../../controller/inventory/load.ts';
import { run } from '../../lab/run.ts';
import { ansibleInventoryText } from './ansible-inventory.ts';
import { timedRun } from './timed-run.ts';
import type { Exec, MeasuredRun } from './usage.ts';

const ANSIBLE_DIR = join(import.meta.dirname, 'ansible');
export const PLAYBOOK = join(ANSIBLE_DIR, 'deploy-etcd.yml');

export class AnsibleRunner {
  readonly workDir: string;
  /** ssh ControlMaster sockets (short path: a Unix socket path must stay under 108 bytes). */
  readonly #controlDir: string;
  /** The playbook's PKI folders (a CA key each), removed with the lab at close. */
  readonly #pkiDirs = new Set<string>();

  constructor(workDir: string) {
    this.workDir = workDir;
    mkdirSync(join(workDir, 'home'), { recursive: true });
    this.#controlDir = mkdtempSync(join(tmpdir(), 'tskv-bench-cp-'));
  }

  /**
   * Writes the Ansible inventory for a tskv inventory file; returns its path. Its PKI folder
   * (`<name>.pki` beside it) starts empty: the fresh run makes the CA and every certificate.
   */
  async writeInventory(tskvInventory: string, name: string): Promise<string> {
    const path = join(this.workDir, `${name}.json`);
    const pkiDir = join(this.workDir, `${name}.pki`);
    rmSync(pkiDir, { recursive: true, force: true });
    this.#pkiDirs.add(pkiDir);
    writeFileSync(path, ansibleInventoryText(await loadInventory(tskvInventory), pkiDir));
    return path;
  }

  /**
   * One `ansible-playbook` run of the playbook; never throws for a failed play (see `code`).
   * `exec`: how it is run (a UsageMeter's to measure what it costs the controller).
   */
  playbook(ansibleInventory: string, exec: Exec = timedRun): Promise<MeasuredRun> {
    const env = {
      ...process.env,
      ANSIBLE_CONFIG: join(ANSIBLE_DIR, 'ansible.cfg'),
      ANSIBLE_HOME: join(this.workDir, 'home'),
      ANSIBLE_LOCAL_TEMP: join(this.workDir, 'home', 'tmp'),
      ANSIBLE_SSH_CONTROL_PATH_DIR: this.#controlDir,
      ANSIBLE_NOCOLOR: '1',
    };
    return exec('ansible-playbook', ['-i', ansibleInventory, PLAYBOOK], { env, cwd: ANSIBLE_DIR });
  }

  /** Ends the ssh master connections Ansible left behind (ControlPersist). */
  async closeConnections(): Promise<void> {
    const sockets = readdirSync(this.#controlDir).map((f) => join(this.#controlDir, f));
    await Promise.all(
      sockets.map((s) => run('ssh', ['-O', 'exit', '-o', `ControlPath=${s}`, 'bench'], { timeoutMs: 5000 })),
    );
  }

  async close(): Promise<void> {
    await this.closeConnections().catch(() => undefined);
    rmSync(this.#controlDir, { recursive: true, force: true });
    for (const dir of this.#pkiDirs) rmSync(dir, { recursive: true, force: true });
  }
}

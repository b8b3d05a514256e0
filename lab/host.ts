/**
 * One running lab host, driven from the machine through its own namespaces (nsenter into its
 * init): commands, sshd, processes, firewalld ports, and libfaketime clock skew. Commands run as
 * root without CAP_SYS_TIME and with a clean environment, like a login on the host would.
 */
import { readFileSync } from 'node:fs';
import { TSKV_RUN_DIR } from '../agent/api/index.ts';
import { TskvError } from '../controller/errors.ts';
import type { LabInit } from './names.ts';
import { pollUntil, type RunResult, run } from './run.ts';

export interface ExecOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  /** Extra environment variables for the command (kept out of its command line). */
  env?: Record<string, string>;
}

const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const SSHD_LISTENING = "ss -Hltn 'sport = :22' | grep -q LISTEN";

export class LabHost {
  readonly name: string;
  readonly address: string;
  /** The host's init in the machine's PID namespace (PID 1 inside the host); a reboot changes it. */
  pid: number;
  /** 'systemd': sshd and every other service are systemd units; a reboot may change it. */
  init: LabInit;

  constructor(name: string, address: string, pid: number, init: LabInit) {
    this.name = name;
    this.address = address;
    this.pid = pid;
    this.init = init;
  }

  /** Runs `cmd` with bash inside the host; never throws for a non-zero exit. */
  exec(cmd: string, options: ExecOptions = {}): Promise<RunResult> {
    const enter = ['-t', String(this.pid), '-n', '-m', '-u', '-i', '-p', '-r', '-w', '--'];
    const extra = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const base = [`PATH=${HOST_PATH}`, 'HOME=/root', 'USER=root', 'LOGNAME=root', 'LANG=C.UTF-8'];
    const env = ['env', '-i', ...base, ...this.skewEnv(), ...extra];
    const drop = ['setpriv', '--bounding-set', '-sys_time', '--'];
    return run('nsenter', [...enter, ...env, ...drop, '/bin/bash', '-c', cmd], {
      input: options.input,
      timeoutMs: options.timeoutMs,
    });
  }

  /** Like exec, but a non-zero exit is a TskvError naming the host and the command. */
  async execOk(cmd: string, options: ExecOptions = {}): Promise<string> {
    const res = await this.exec(cmd, options);
    if (res.code !== 0) {
      throw new TskvError(
        'E_LAB_EXEC',
        `'${cmd}' exited with ${res.code}: ${(res.stderr || res.stdout).trim()}`,
        {
          host: this.name,
        },
      );
    }
    return res.stdout;
  }

  /** Stops sshd's listener (open sessions stay, as with `systemctl stop ssh`); new connections are refused. */
  async stopSshd(): Promise<void> {
    await this.exec(
      this.init === 'systemd'
        ? 'systemctl stop ssh.service'
        : '[ -s /run/sshd.pid ] && kill "$(cat /run/sshd.pid)"; rm -f /run/sshd.pid',
    );
    await this.waitFor('sshd to stop listening', `! ${SSHD_LISTENING}`);
  }

  async startSshd(): Promise<void> {
    await this.execOk(
      this.init === 'systemd'
        ? 'systemctl start ssh.service'
        : `${SSHD_LISTENING} || FAKETIME_SKIP_CMDS=sshd /usr/sbin/sshd`,
    );
    await this.waitFor('sshd to listen', SSHD_LISTENING);
  }

  /**
   * New SSH host keys (sshd restarted): the lab's known_hosts still names the old ones, as after
   * a re-imaged host, until `lab.refreshKnownHosts()`.
   */
  async regenerateHostKeys(): Promise<void> {
    await this.execOk('rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null');
    await this.stopSshd();
    await this.startSshd();
  }

  /**
   * A login user holding the lab's key (copied from root's authorized_keys). sudo: 'nopasswd'
   * (passwordless sudo), 'password' (sudo would ask for a password, so `sudo -n` fails) or 'none'.
   */
  async addUser(user: string, sudo: 'nopasswd' | 'password' | 'none' = 'none'): Promise<void> {
    if (!/^[a-z_][a-z0-9_-]{0,30}$/.test(user))
      throw new TskvError('E_LAB_USER', `invalid user name '${user}'`);
    const rule = { nopasswd: `${user} ALL=(ALL) NOPASSWD:ALL`, password: `${user} ALL=(ALL) ALL`, none: '' }[
      sudo
    ];
    const sudoers = `/etc/sudoers.d/tskv-lab-${user}`;
    await this.execOk(
      `id -u ${user} >/dev/null 2>&1 || useradd -m -s /bin/bash ${user}; usermod -p '*' ${user}; ` +
        `install -d -m 700 -o ${user} -g ${user} /home/${user}/.ssh && ` +
        `install -m 600 -o ${user} -g ${user} /root/.ssh/authorized_keys /home/${user}/.ssh/authorized_keys && ` +
        (rule ? `printf '%s\\n' '${rule}' >${sudoers} && chmod 440 ${sudoers}` : `rm -f ${sudoers}`),
    );
  }

  /** SIGKILLs the host's processes whose command line matches `pattern` (pgrep -f); returns how many. */
  async kill(pattern: string): Promise<number> {
    const script =
      'n=0; for p in $(pgrep -f -- "$TSKV_PATTERN"); do [ "$p" = "$$" ] && continue; ' +
      'kill -KILL "$p" 2>/dev/null && n=$((n+1)); done; echo "$n"';
    return Number((await this.execOk(script, { env: { TSKV_PATTERN: pattern } })).trim());
  }

  /** Closes a TCP port in firewalld (runtime and permanent): the zone's default rejects it again. */
  async blockPort(port: number): Promise<void> {
    await this.execOk(
      `firewall-cmd -q --remove-port=${port}/tcp 2>/dev/null; firewall-cmd -q --permanent --remove-port=${port}/tcp 2>/dev/null; ` +
        `! firewall-cmd -q --query-port=${port}/tcp`,
    );
  }

  /** Opens a TCP port in firewalld, runtime and permanent. */
  async openPort(port: number): Promise<void> {
    await this.execOk(
      `firewall-cmd -q --add-port=${port}/tcp && firewall-cmd -q --permanent --add-port=${port}/tcp`,
    );
  }

  /**
   * Gives processes started from now on a clock offset of `seconds` with libfaketime: the offset
   * in /etc/faketimerc, the library preloaded into every SSH session through /etc/environment
   * (pam_env) and into exec() here. sshd itself never loads it (its seccomp sandbox kills the
   * session when it does, even with FAKETIME_SKIP_CMDS=sshd, which is set for sessions too).
   * Go programs (etcd) ignore it. Only the wall clock is off, as on a real skewed host: the
   * monotonic clock stays true (libfaketime fakes it too by default, which made systemd's
   * monotonic start times of etcd read as 1970). 0 removes it. A resident tskv agent keeps the clock it started
   * with, so its socket is removed: the next command starts one that sees the change (the old one
   * exits by itself).
   */
  async setSkew(seconds: number): Promise<void> {
    if (!Number.isFinite(seconds))
      throw new TskvError('E_LAB_SKEW', `invalid skew '${seconds}'`, { host: this.name });
    const clean =
      "sed -i '/^LD_PRELOAD=.*libfaketime/d; /^FAKETIME_SKIP_CMDS=/d; /^FAKETIME_DONT_FAKE_MONOTONIC=/d' /etc/environment";
    const dropAgents = `rm -f ${TSKV_RUN_DIR}/agent-*/agent.sock`;
    if (seconds === 0) {
      await this.execOk(`rm -f /etc/faketimerc; touch /etc/environment; ${clean}; ${dropAgents}`);
      return;
    }
    const offset = `${seconds > 0 ? '+' : ''}${seconds}`;
    await this.execOk(
      `lib=$(ls /usr/lib/*/faketime/libfaketime.so.1 | head -n1) && [ -n "$lib" ] && touch /etc/environment && ${clean} && ` +
        `printf 'LD_PRELOAD=%s\\nFAKETIME_SKIP_CMDS=sshd\\nFAKETIME_DONT_FAKE_MONOTONIC=1\\n' "$lib" >>/etc/environment && printf '%s\\n' '${offset}' >/etc/faketimerc && ${dropAgents}`,
    );
  }

  /** The libfaketime environment of this host's sessions while it is skewed (read through its root). */
  private skewEnv(): string[] {
    try {
      const env = readFileSync(`/proc/${this.pid}/root/etc/environment`, 'utf8');
      return env
        .split('\n')
        .filter((l) =>
          /^LD_PRELOAD=.*libfaketime|^FAKETIME_SKIP_CMDS=|^FAKETIME_DONT_FAKE_MONOTONIC=/.test(l),
        );
    } catch {
      return [];
    }
  }

  /** Polls a shell condition inside the host until it holds. */
  async waitFor(what: string, condition: string, timeoutMs = 15_000): Promise<void> {
    await pollUntil(
      `${this.name}: ${what}`,
      async () => ((await this.exec(condition)).code === 0 ? true : undefined),
      { timeoutMs },
    );
  }
}

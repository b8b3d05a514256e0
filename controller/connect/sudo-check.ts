/** Once per host after connect: is the SSH user root, or can it become root with `sudo -n`? */
import { TskvError } from '../errors.ts';
import type { SshHostConnection } from './connection.ts';

const PROBE = 'if [ "$(id -u)" = 0 ]; then echo root; elif sudo -n true; then echo sudo; else exit 1; fi';

/**
 * Sets how the connection runs root commands. Without root access: throws when `required`,
 * else remembers the error so that only commands needing root fail with it.
 */
export async function checkRoot(conn: SshHostConnection, user: string, required: boolean): Promise<void> {
  const step = 'check sudo';
  const res = await conn.exec(PROBE, { root: false, step, timeoutMs: 15_000 });
  const answer = res.stdout.trim();
  if (res.code === 0 && (answer === 'root' || answer === 'sudo')) {
    conn.setRootAccess(answer === 'sudo');
    return;
  }
  const why = res.stderr.trim().split('\n').pop() || `exit code ${res.code}`;
  const err = new TskvError(
    'E_SUDO',
    `user ${user} on host ${conn.host} needs passwordless sudo (sudo -n failed: ${why})`,
    {
      host: conn.host,
      step,
      fix: `on the host: echo '${user} ALL=(ALL) NOPASSWD:ALL' > /etc/sudoers.d/${user} (or set ssh.user: root)`,
    },
  );
  if (required) throw err;
  conn.setRootAccess(false, err);
}

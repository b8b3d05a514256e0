/** Opening one verified, authenticated SSH connection to a host, directly or through its jump hosts. */
import type { HostSpec } from '../inventory/model.ts';
import { SshHostConnection } from './connection.ts';
import type { HostKeyRecorded } from './host-key-check.ts';
import { JumpHosts } from './jump.ts';
import { openSession, type SessionOptions } from './session.ts';
import { checkRoot } from './sudo-check.ts';
import { sshTarget } from './target.ts';

export interface ConnectOptions extends SessionOptions {
  /** Fail the connect when the user is neither root nor has passwordless sudo. Default true. */
  requireRoot?: boolean;
  /**
   * The jump host sessions to share (ConnectionPool passes its own). Without it a host behind jump
   * hosts gets sessions of its own, closed with its connection.
   */
  jumps?: JumpHosts;
}

export type { HostKeyRecorded };

export async function connect(spec: HostSpec, options: ConnectOptions = {}): Promise<SshHostConnection> {
  const { ssh } = spec;
  const address = sshTarget(spec);
  const ownJumps = ssh.proxyJump !== undefined && !options.jumps ? new JumpHosts(options) : undefined;
  const jumps = options.jumps ?? ownJumps;
  let session: Awaited<ReturnType<typeof openSession>>;
  try {
    const sock = ssh.proxyJump !== undefined && jumps ? await jumps.streamTo(spec) : undefined;
    session = await openSession(spec, `${address}:${ssh.port}`, options, sock);
  } catch (err) {
    ownJumps?.closeAll();
    throw err;
  }
  const { client, proxy } = session;

  const proxyDetail = (): string | undefined => {
    if (!proxy || (!proxy.exit() && !proxy.stderr())) return undefined;
    return `proxy command${proxy.exit() ? ` ${proxy.exit()}` : ''}${proxy.stderr() ? `: ${proxy.stderr()}` : ''}`;
  };
  const conn = new SshHostConnection(
    spec.name,
    `${address}:${ssh.port}`,
    client,
    () => {
      proxy?.kill();
      ownJumps?.closeAll();
    },
    proxyDetail,
  );
  if (ssh.user !== 'root') {
    try {
      await checkRoot(conn, ssh.user, options.requireRoot ?? true);
    } catch (err) {
      conn.close();
      throw err;
    }
  } else {
    // sshd turns Nagle off on its side only once a session runs a command (OpenSSH's
    // ssh_packet_set_interactive). Until then a reply written while an earlier packet waits for
    // its ACK stalls for the controller's delayed ACK (~40 ms): measured on the first agent call
    // over a forwarded socket. One empty command, not waited for, sets it (sudo's check does too).
    conn.exec(':', { step: 'ssh: first session' }).catch(() => undefined);
  }
  return conn;
}

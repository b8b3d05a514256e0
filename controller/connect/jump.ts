/**
 * ProxyJump done natively: a session to the first jump host, a direct-tcpip channel from it to the
 * next, and so on; the target's session rides the last channel. Every hop's host key is verified and
 * every hop authenticates like a direct connection (./session.ts). One session per jump host (per
 * chain leading to it), shared by all targets behind it, closed with closeAll().
 */
import type { Duplex } from 'node:stream';
import type ssh2 from 'ssh2';
import { TskvError } from '../errors.ts';
import type { SshTarget } from '../inventory/model.ts';
import { hopEndpoint, type JumpHop, parseProxyJump } from '../inventory/proxy-jump.ts';
import { openSession, type SessionOptions } from './session.ts';
import { sshTarget } from './target.ts';

const STEP = 'connect';

/** The jump hosts a target is reached through, first to last ([] when it has none). */
export function jumpHops(target: SshTarget): JumpHop[] {
  const text = target.ssh.proxyJump;
  if (text === undefined) return [];
  const parsed = parseProxyJump(text);
  if ('problem' in parsed) {
    throw new TskvError('E_INPUT', `ssh.proxyJump '${text}' ${parsed.problem}`, {
      host: target.name,
      step: STEP,
    });
  }
  return parsed.hops;
}

/**
 * Hop i of the target's chain as a host of its own: as the inventory resolved it (ssh_config for
 * the hop's name, inventory/ssh-settings.ts), else the target's user, identity, known_hosts, host
 * key policy and timeout unless the hop names its user and port (default 22); only the first hop
 * goes through the target's proxyCommand.
 */
export function hopTarget(target: SshTarget, hops: readonly JumpHop[], i: number): SshTarget {
  const resolved = target.ssh.jumpHosts?.[i];
  if (resolved) return resolved;
  const hop = hops[i]!;
  const port = hop.port ?? 22;
  return {
    name: `jump host ${hopEndpoint(hop.host, port)}`,
    address: hop.host,
    ssh: {
      ...target.ssh,
      user: hop.user ?? target.ssh.user,
      port,
      proxyCommand: i === 0 ? target.ssh.proxyCommand : undefined,
      proxyJump: undefined,
      reachedThrough: i === 0 ? undefined : hops[i - 1]!.host,
      // The target's ssh_config HostName and HostKeyAlias are the target's, not the hop's.
      hostName: undefined,
      hostKeyAlias: undefined,
    },
  };
}

/** A stream to host:port opened by `client` (direct-tcpip); `via` names the jump host in errors. */
function forward(client: ssh2.Client, via: string, host: string, port: number): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
      if (err) {
        reject(
          new TskvError(
            'E_SSH_UNREACHABLE',
            `${via} could not reach ${hopEndpoint(host, port)}: ${err.message}`,
            {
              step: STEP,
              cause: err,
              fix: `check that ${hopEndpoint(host, port)} is up and accepts SSH from the jump host, and that the jump host's sshd allows TCP forwarding (AllowTcpForwarding)`,
            },
          ),
        );
      } else resolve(stream);
    });
  });
}

/** The same failure, as the target's: its host, the message naming the jump host and where the jump was set. */
function asTargets(target: SshTarget, err: unknown): TskvError {
  const from = target.ssh.sources?.['proxyJump'];
  const where =
    from === undefined || from === 'default' ? '' : ` (ProxyJump ${target.ssh.proxyJump} from ${from})`;
  if (!(err instanceof TskvError)) {
    return new TskvError(
      'E_SSH_CONNECT',
      `cannot connect through ssh.proxyJump ${target.ssh.proxyJump}${where}`,
      {
        host: target.name,
        step: STEP,
        cause: err,
      },
    );
  }
  const named = `${err.message.startsWith('jump host ') ? err.message : `${err.host}: ${err.message}`}${where}`;
  return new TskvError(err.code, named, {
    host: target.name,
    step: err.step ?? STEP,
    cause: err,
    ...(err.fix === undefined ? {} : { fix: err.fix }),
  });
}

export class JumpHosts {
  readonly #options: SessionOptions;
  readonly #sessions = new Map<string, Promise<ssh2.Client>>();
  readonly #stops = new Set<() => void>();
  #closed = false;

  constructor(options: SessionOptions = {}) {
    this.#options = options;
  }

  /** A stream to the target's SSH port through its jump hosts, for ssh2's `sock`. */
  async streamTo(target: SshTarget): Promise<Duplex> {
    try {
      const hops = jumpHops(target);
      const last = await this.#session(target, hops, hops.length - 1);
      return await forward(
        last,
        hopTarget(target, hops, hops.length - 1).name,
        sshTarget(target),
        target.ssh.port,
      );
    } catch (err) {
      throw asTargets(target, err);
    }
  }

  /** The session to hop i, opened once per chain (a failure is remembered until it is retried after close). */
  #session(target: SshTarget, hops: readonly JumpHop[], i: number): Promise<ssh2.Client> {
    if (this.#closed) {
      return Promise.reject(
        new TskvError('E_SSH_POOL_CLOSED', 'the connection pool is closed', { step: STEP }),
      );
    }
    const chain = hops.slice(0, i + 1).map((_, j) => hopTarget(target, hops, j));
    const key = JSON.stringify(chain);
    let pending = this.#sessions.get(key);
    if (!pending) {
      const me = chain[i]!;
      pending = (async () => {
        const sock =
          i === 0
            ? undefined
            : await forward(
                await this.#session(target, hops, i - 1),
                chain[i - 1]!.name,
                sshTarget(me),
                me.ssh.port,
              );
        const { client, proxy } = await openSession(me, me.name, this.#options, sock);
        const stop = (): void => {
          client.end();
          proxy?.kill();
        };
        if (this.#closed) {
          stop();
          throw new TskvError('E_SSH_POOL_CLOSED', 'the connection pool is closed', { step: STEP });
        }
        this.#stops.add(stop);
        client.on('error', () => undefined); // a lost jump host surfaces as its targets' lost connections
        client.on('close', () => {
          this.#stops.delete(stop);
          proxy?.kill();
          if (this.#sessions.get(key) === pending) this.#sessions.delete(key);
        });
        return client;
      })();
      this.#sessions.set(key, pending);
    }
    return pending;
  }

  closeAll(): void {
    this.#closed = true;
    for (const stop of this.#stops) stop();
    this.#stops.clear();
  }
}

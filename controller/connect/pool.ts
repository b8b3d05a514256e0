/** One connection per host for a whole run: opened in parallel, reused, closed together at the end. */

import { TskvError } from '../errors.ts';
import type { HostSpec } from '../inventory/model.ts';
import { type ConnectOptions, connect } from './connect.ts';
import { JumpHosts } from './jump.ts';
import type { HostConnection } from './types.ts';

export interface ConnectOutcome {
  host: HostSpec;
  connection: HostConnection | undefined;
  error: TskvError | undefined;
}

function asTskvError(host: HostSpec, err: unknown): TskvError {
  return err instanceof TskvError
    ? err
    : new TskvError('E_SSH_CONNECT', `cannot connect to ${host.address}`, {
        host: host.name,
        step: 'connect',
        cause: err,
      });
}

export class ConnectionPool {
  readonly #options: ConnectOptions;
  /** Jump host sessions, one per jump host, shared by every host behind it. */
  readonly #jumps: JumpHosts;
  readonly #connecting = new Map<string, Promise<HostConnection>>();
  readonly #open = new Set<HostConnection>();
  #closed = false;

  constructor(options: ConnectOptions = {}) {
    this.#jumps = options.jumps ?? new JumpHosts(options);
    this.#options = { ...options, jumps: this.#jumps };
  }

  /** The host's connection, opened on first use; a failed connect is remembered (and rethrown) for the run. */
  get(host: HostSpec): Promise<HostConnection> {
    if (this.#closed) {
      return Promise.reject(
        new TskvError('E_SSH_POOL_CLOSED', 'the connection pool is closed', { host: host.name }),
      );
    }
    let pending = this.#connecting.get(host.name);
    if (!pending) {
      pending = connect(host, this.#options).then(
        (conn) => {
          if (this.#closed) conn.close();
          else this.#open.add(conn);
          return conn;
        },
        (err: unknown) => {
          throw asTskvError(host, err);
        },
      );
      this.#connecting.set(host.name, pending);
    }
    return pending;
  }

  /** Connects to every host at once; never rejects: each outcome holds the connection or the error. */
  connectAll(hosts: readonly HostSpec[]): Promise<ConnectOutcome[]> {
    return Promise.all(
      hosts.map((host) =>
        this.get(host).then(
          (connection) => ({ host, connection, error: undefined }),
          (err: unknown) => ({ host, connection: undefined, error: asTskvError(host, err) }),
        ),
      ),
    );
  }

  closeAll(): void {
    this.#closed = true;
    for (const conn of this.#open) conn.close();
    this.#open.clear();
    this.#jumps.closeAll();
  }
}

/** Connects to every host at once; throws the first failure (closing whatever did connect). */
export async function connectAll(
  hosts: readonly HostSpec[],
  options: ConnectOptions = {},
): Promise<{ pool: ConnectionPool; connections: Map<string, HostConnection> }> {
  const pool = new ConnectionPool(options);
  const outcomes = await pool.connectAll(hosts);
  const failed = outcomes.find((o) => o.error);
  if (failed?.error) {
    pool.closeAll();
    throw failed.error;
  }
  return { pool, connections: new Map(outcomes.map((o) => [o.host.name, o.connection!])) };
}

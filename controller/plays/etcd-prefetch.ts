/**
 * The etcd tarball travels early: for each host whose versioned etcd directory is missing, the
 * tarball is pushed (or, with etcd.fetch: host, downloaded by the host) into tskv's own cache on the
 * host (/var/lib/tskv/cache, next to the agent), which changes nothing etcd or the operator sees.
 * Installing it stays a planned step after preflight. A prefetch that fails is only a lost head
 * start: the install pushes again and reports.
 *
 * Nothing is pushed to a host before this run holds its cluster lock. A push starts as soon as it
 * does (the session takes the lock host by host as they connect, session.ts), while the other hosts
 * still connect and relay the agent's runtime and the controller's link would sit idle; the hosts'
 * own downloads start once the whole lock is held. A refused lock stops every push at once and
 * removes its partial file (the run then fails with the refusal, not after the pushes end).
 */
import { etcdVersionDir, routes } from '../../agent/api/index.ts';
import { resolveEtcdArtifact } from '../artifacts/etcd-repack.ts';
import { type EtcdArtifact, type PushedForm, remoteTarballPath } from '../artifacts/etcd-tarball.ts';
import { leaseFileBytes } from '../artifacts/file-bytes.ts';
import { ChannelLimiter } from '../connect/channel-limiter.ts';
import type { EtcdSpec } from '../inventory/model.ts';
import { shellQuote } from '../render/shell-quote.ts';
import { forks } from '../run/forks.ts';
import { TransferMeter } from '../run/transfer.ts';
import { agentSource, type HostRelay, hostRelay, relayFallbackNote, tarballKey } from '../transfer/relay.ts';
import type { RelayBoard, RelaySource } from '../transfer/relay-board.ts';
import { fetchOnHost, type HostFetch, type HostFetched, hostFetchOf } from './etcd-host-fetch.ts';
import type { HostChannel, LockFollower } from './session.ts';

/** The tarball in the host's cache, verified: pushed now, fetched by the host, or there from an earlier run. */
export interface HostTarball {
  pushed: boolean;
  /** The host that relayed it to this one (then `pushed` is false). */
  relayedFrom?: string;
  /** A relay that failed before the push (the output says so). */
  note?: string;
  form: PushedForm;
  /** etcd.fetch: host: what the host's own download did. */
  fetched?: HostFetched;
}

/**
 * How the tarball reaches the hosts: pushed from here (the artifact, resolved only when some host
 * needs it), or downloaded by each host itself (etcd.fetch: host, see etcd-host-fetch.ts).
 */
export type TarballSource = (() => Promise<EtcdArtifact>) | HostFetch;

/** How `etcd`'s tarball reaches the hosts: each host's own download (etcd.fetch: host), or pushed from here, resolved once. */
export function tarballSourceOf(etcd: EtcdSpec): TarballSource {
  const fetch = hostFetchOf(etcd);
  if (fetch) return fetch;
  let tarball: Promise<EtcdArtifact> | undefined;
  return () => {
    tarball ??= resolveEtcdArtifact(etcd);
    return tarball;
  };
}

/** `work`'s result, or `signal`'s reason once it aborts (the work itself goes on: a download others may share). */
function unlessStopped<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason);
    // Handled before anything else: a work that fails after the stop must not go unhandled.
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', stop));
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
}

/** The tarball into the host's cache as `source` says (nothing moves when it is there already). */
export async function placeTarball(
  ch: HostChannel,
  source: TarballSource,
  relay?: RelayBoard,
  signal?: AbortSignal,
): Promise<HostTarball> {
  if (typeof source === 'function')
    return pushTarball(ch, await unlessStopped(source(), signal), relay, signal);
  const fetched = await fetchOnHost(ch, source);
  const form = { path: source.url, fileName: source.fileName, sha256: source.sha256, size: fetched.bytes };
  return { pushed: false, form, fetched };
}

export type TarballState = HostTarball | 'installed' | 'skipped';

/** The forms of `artifact` a host may hold: zstd (when made) first, then the release's own. */
function tarballForms(artifact: EtcdArtifact): PushedForm[] {
  return artifact.zstd ? [artifact.zstd, artifact] : [artifact];
}

/** Which of `forms` the host's cache holds, verified by sha256; and whether it has zstd. */
async function probeCache(
  ch: HostChannel,
  forms: PushedForm[],
): Promise<{ held: PushedForm[]; zstd: boolean }> {
  const have = await ch.conn.exec(
    `command -v zstd >/dev/null 2>&1 && echo zstd; sha256sum ${forms.map((f) => shellQuote(remoteTarballPath(f))).join(' ')} 2>/dev/null; true`,
    { step: 'check etcd tarball' },
  );
  const lines = have.stdout.split('\n');
  return {
    held: forms.filter((f) => lines.includes(`${f.sha256}  ${remoteTarballPath(f)}`)),
    zstd: lines.includes('zstd'),
  };
}

/** `ch` serving `form` from its cache to the hosts that need it. */
function cacheSource(relay: HostRelay, ch: HostChannel, form: PushedForm): RelaySource {
  return agentSource(relay.name, relay.address, ch.agent, {
    kind: 'tarball',
    tarball: remoteTarballPath(form),
    sha256: form.sha256,
  });
}

/**
 * Hosts that already run etcd (the members, when hosts join) serve the tarball from their cache when
 * it is still there. Each says for both forms whether it has them; hosts that need the tarball wait
 * for that (at most the board's grace) rather than take a copy over the controller's link.
 */
export async function offerCachedTarball(
  holders: HostChannel[],
  artifact: EtcdArtifact,
  board: RelayBoard,
): Promise<void> {
  const forms = artifact.zstd ? [artifact.zstd, artifact] : [artifact];
  const relays = holders.flatMap((ch) => {
    const relay = hostRelay(board, ch.spec.name, ch.spec.address);
    return relay ? [{ ch, relay }] : [];
  });
  for (const f of forms)
    board.expect(
      tarballKey(f.sha256),
      relays.map((r) => r.relay.name),
    );
  await Promise.all(
    relays.map(async ({ ch, relay }) => {
      const have = await ch.conn
        .exec(`sha256sum ${forms.map((f) => shellQuote(remoteTarballPath(f))).join(' ')} 2>/dev/null; true`, {
          step: 'check etcd tarball',
        })
        .catch(() => undefined);
      for (const f of forms) {
        const key = tarballKey(f.sha256);
        const remote = remoteTarballPath(f);
        if (have?.stdout.split('\n').includes(`${f.sha256}  ${remote}`)) {
          board.add(
            key,
            agentSource(relay.name, relay.address, ch.agent, {
              kind: 'tarball',
              tarball: remote,
              sha256: f.sha256,
            }),
          );
        } else board.pass(key, relay.name);
      }
    }),
  );
}

/** Free space under /var/lib below which nothing is pushed before preflight (its disk check fails under 1 GiB). */
const PREFETCH_MIN_FREE_BYTES = 2 * 1024 ** 3;

/**
 * Pushes the form the host can unpack fastest (zstd when it has zstd) unless its cache already
 * holds those bytes.
 */
export async function pushTarball(
  ch: HostChannel,
  artifact: EtcdArtifact,
  board?: RelayBoard,
  signal?: AbortSignal,
): Promise<HostTarball> {
  const forms = tarballForms(artifact);
  const have = await probeCache(ch, forms);
  const form = artifact.zstd && have.zstd ? artifact.zstd : artifact;
  const remote = remoteTarballPath(form);
  const relay = hostRelay(board, ch.spec.name, ch.spec.address);
  const key = tarballKey(form.sha256);
  // The other form is not this host's business: hosts waiting on it need not wait for this one.
  for (const f of forms) if (f !== form) relay?.board.pass(tarballKey(f.sha256), relay.name);
  const serve = () => relay?.board.add(key, cacheSource(relay, ch, form));
  if (have.held.includes(form)) {
    serve();
    return { pushed: false, form };
  }
  signal?.throwIfAborted();
  const claiming = relay?.board.claim(key, relay.name);
  // Stopped while waiting for its turn: the claim it gets later is handed back at once.
  const claim =
    claiming &&
    (await unlessStopped(claiming, signal).catch((err: unknown) => {
      void claiming.then((c) => (c.role === 'direct' ? c.failed() : c.done(true)));
      throw err;
    }));
  let note: string | undefined;
  if (claim?.role === 'pull') {
    let served = false;
    let stopped = false;
    try {
      signal?.throwIfAborted();
      // Stopped: this run no longer waits for it (the host keeps a file only once its sha256 is verified).
      await unlessStopped(
        ch.agent.call(
          routes.etcdFetch,
          {
            url: await claim.from.offer(relay!.address),
            tarball: remote,
            sha256: form.sha256,
            allowHttp: true,
            idleTimeoutSeconds: 5,
            maxBytes: form.size,
            // The sender is another host: it may not send this one elsewhere.
            maxRedirects: 0,
          },
          { step: 'fetch etcd tarball (relay)', timeoutMs: 5 * 60_000 },
        ),
        signal,
      );
      served = true;
      serve();
      return { pushed: false, form, relayedFrom: claim.from.name };
    } catch (err) {
      // Stopped (the lock refused or lost): not the sender's failure, and no push follows.
      if (signal?.aborted) {
        stopped = true;
        throw err;
      }
      note = relayFallbackNote(`etcd tarball ${form.fileName}`, claim.from.name, (err as Error).message);
    } finally {
      claim.done(served || stopped);
    }
  }
  let pushed = false;
  try {
    const lease = await leaseFileBytes(form.path);
    try {
      const meter =
        ch.onTransfer && new TransferMeter(ch.spec.name, 'etcd tarball', lease.bytes.length, ch.onTransfer);
      await ch.conn.upload(lease.bytes, remote, {
        sha256: form.sha256,
        mode: 0o644,
        step: 'upload etcd tarball',
        ...(meter ? { meter } : {}),
        ...(signal ? { signal } : {}),
      });
    } finally {
      lease.release();
    }
    pushed = true;
    serve();
  } finally {
    // Always settled: the hosts waiting for this copy must never wait for ever.
    if (claim?.role === 'direct') {
      if (pushed) claim.landed();
      else claim.failed();
    }
  }
  return { pushed: true, form, ...(note ? { note } : {}) };
}

async function prefetchOne(
  ch: HostChannel,
  version: string,
  source: TarballSource,
  relay: RelayBoard | undefined,
  signal: AbortSignal,
): Promise<TarballState> {
  signal.throwIfAborted();
  const binary = `${etcdVersionDir(version)}/etcd`;
  const check = await ch.conn.exec(
    `[ -x ${shellQuote(binary)} ] && echo installed || df -Pk /var/lib | tail -n 1`,
    { step: 'check etcd install' },
  );
  const out = check.stdout.trim();
  if (out === 'installed') return 'installed';
  // Preflight has not judged the disk yet: on a nearly full /var (where etcd may keep its data)
  // the tarball waits for the install step, after preflight.
  const freeBytes = Number(out.split(/\s+/)[3]) * 1024;
  if (!(freeBytes > PREFETCH_MIN_FREE_BYTES)) return 'skipped';
  return placeTarball(ch, source, relay, signal);
}

/**
 * One run's prefetch, started host by host (again for a host: nothing more), at most --forks hosts
 * at once like connecting (the link is shared, each push only goes slower). Each promise in
 * `prefetched` settles to the host's state, or undefined when it failed (the install step then
 * tries again and reports). As the session's LockFollower it starts pushes as hosts are locked.
 */
export class TarballPrefetch implements LockFollower {
  readonly prefetched = new Map<string, Promise<TarballState | undefined>>();
  readonly #version: string;
  readonly source: TarballSource;
  readonly #slots = new ChannelLimiter(forks());
  readonly #stop = new AbortController();
  /** Hosts found with etcd installed, which may serve the tarball once it is known (offerCachedTarball). */
  readonly #members: HostChannel[] = [];
  /** Hosts started and not yet settled: each will say whether it has the tarball (relay-board.ts expect). */
  readonly #pending = new Set<HostChannel>();
  #board: RelayBoard | undefined;
  #artifact: EtcdArtifact | undefined;

  constructor(version: string, source: TarballSource) {
    this.#version = version;
    // Resolved only when some host needs it (a no-op run never reads it): the members found so far
    // are then asked before that host claims it.
    this.source =
      typeof source === 'function'
        ? async () => {
            const artifact = await source();
            if (!this.#artifact) {
              this.#artifact = artifact;
              this.#expect([...this.#pending]);
              this.#offer(this.#members);
            }
            return artifact;
          }
        : source;
  }

  /**
   * `hosts` will say whether they have the tarball (by claiming it, serving it, or passing), so
   * that a host that needs it waits for them rather than take it over the controller's link while
   * a member that has it is still being checked.
   */
  #expect(hosts: HostChannel[]): void {
    const board = this.#board;
    if (!this.#artifact || !board) return;
    const names = hosts.flatMap((ch) => hostRelay(board, ch.spec.name, ch.spec.address)?.name ?? []);
    for (const key of tarballForms(this.#artifact).map((f) => tarballKey(f.sha256))) board.expect(key, names);
  }

  /** `ch` has said all it will (it neither serves nor claims the tarball now). */
  #passed(ch: HostChannel): void {
    const board = this.#board;
    if (!this.#artifact || !board) return;
    for (const f of tarballForms(this.#artifact)) board.pass(tarballKey(f.sha256), ch.spec.name);
  }

  #offer(members: HostChannel[]): void {
    if (this.#artifact && this.#board && members.length > 0)
      offerCachedTarball(members, this.#artifact, this.#board).catch(() => undefined);
  }

  /** Starts `ch`'s prefetch; the caller holds `ch`'s cluster lock. */
  start(ch: HostChannel, relay: RelayBoard | undefined): void {
    if (this.prefetched.has(ch.spec.name)) return;
    this.#board ??= relay;
    const run = async () => {
      let state: TarballState | undefined;
      const release = await this.#slots.acquire();
      // Expected only once under way: hosts holding every slot must not wait for those queued behind them.
      if (relay) {
        this.#pending.add(ch);
        this.#expect([ch]);
      }
      try {
        state = await prefetchOne(ch, this.#version, this.source, relay, this.#stop.signal);
        if (state === 'installed' && relay) {
          this.#members.push(ch);
          this.#offer([ch]);
        }
        return state;
      } finally {
        release();
        this.#pending.delete(ch);
        // A member says so through #offer; every other host has claimed, served or given up by now.
        if (relay && state !== 'installed') this.#passed(ch);
      }
    };
    this.prefetched.set(
      ch.spec.name,
      run().catch(() => undefined),
    );
  }

  held(ch: HostChannel, relay: RelayBoard | undefined): void {
    // A host's own download waits for the whole lock (plan time): it may take minutes to stop.
    if (typeof this.source === 'function') this.start(ch, relay);
  }

  refused(): void {
    this.stop(new Error('the cluster lock was refused'));
  }

  /** Stops every push under way and starts no more (the lock refused or lost). */
  stop(reason: Error): void {
    this.#stop.abort(reason);
  }
}

/**
 * etcd.fetch: host: before anything changes, every host that installs has the tarball in its cache,
 * verified (the prefetch got it there, or it is fetched now): a host whose download fails stops the
 * run naming host, URL and cause, with nothing changed on it. Each host's state replaces its
 * prefetch, so the install step finds it.
 */
export async function fetchBeforeChanges(
  channels: HostChannel[],
  source: HostFetch,
  prefetched: Map<string, Promise<TarballState | undefined>>,
): Promise<void> {
  const results = await Promise.allSettled(
    channels.map(async (ch) => {
      const early = await prefetched.get(ch.spec.name);
      const state = typeof early === 'object' ? early : await placeTarball(ch, source);
      prefetched.set(ch.spec.name, Promise.resolve(state));
    }),
  );
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * `etcd.fetch: host`: each host's agent downloads the tarball from the inventory's URL itself and
 * checks its sha256 (etcd.sha256, else the table of official checksums), so only the agent crosses
 * the controller's link. The controller never downloads nor pushes the tarball then.
 */
import { posix } from 'node:path';
import { routes } from '../../agent/api/index.ts';
import { expectedSha256, noChecksumMessage } from '../artifacts/etcd-release.ts';
import { remoteTarballPath } from '../artifacts/etcd-tarball.ts';
import { InputError, TskvError } from '../errors.ts';
import type { EtcdSpec } from '../inventory/model.ts';
import type { HostChannel } from './session.ts';

export interface HostFetch {
  url: string;
  sha256: string;
  /** The URL's file name (in the hosts' cache with the sha256's prefix: remoteTarballPath). */
  fileName: string;
  /** The inventory names an http:// URL (an internal mirror): the agent may use plain http. */
  allowHttp: boolean;
  /** etcd.fetchProxy: the proxy the hosts download through. */
  proxy?: string;
}

/** The download each host makes itself, or undefined when the controller pushes the tarball (the default). */
export function hostFetchOf(spec: EtcdSpec): HostFetch | undefined {
  if (spec.fetch !== 'host') return undefined;
  // The inventory refuses such a spec already; this holds for specs made elsewhere too.
  const expected = expectedSha256(spec.version, spec.source, spec.sha256);
  if (!expected) {
    throw new InputError(noChecksumMessage(spec.version, spec.source, false, true), { step: 'etcd tarball' });
  }
  const url = new URL(spec.source);
  return {
    url: spec.source,
    sha256: expected.sha256,
    fileName: posix.basename(url.pathname) || `etcd-v${spec.version}.tar.gz`,
    allowHttp: url.protocol === 'http:',
    ...(spec.fetchProxy === undefined ? {} : { proxy: spec.fetchProxy }),
  };
}

/** What the host's fetch did: `bytes` in `ms` (both 0 when its cache already held the tarball). */
export interface HostFetched {
  fetched: boolean;
  bytes: number;
  ms: number;
  actions: string[];
}

/** Has the host download `f` into its cache (nothing when it is there, verified); a failure names host, URL and cause. */
export async function fetchOnHost(ch: HostChannel, f: HostFetch): Promise<HostFetched> {
  try {
    const r = await ch.agent.call(
      routes.etcdFetch,
      {
        url: f.url,
        tarball: remoteTarballPath(f),
        sha256: f.sha256,
        ...(f.allowHttp ? { allowHttp: true } : {}),
        ...(f.proxy === undefined ? {} : { proxy: f.proxy }),
      },
      // The agent gives up after 15 minutes itself.
      { step: 'fetch etcd tarball', timeoutMs: 16 * 60_000 },
    );
    return { fetched: r.fetched, bytes: r.bytes, ms: r.ms, actions: r.actions };
  } catch (err) {
    if (!(err instanceof TskvError) || (err.code !== 'E_AGENT_DOWNLOAD' && err.code !== 'E_AGENT_SHA256'))
      throw err;
    const sha = err.code === 'E_AGENT_SHA256';
    throw new TskvError(
      sha ? 'E_ETCD_SHA256' : 'E_ETCD_DOWNLOAD',
      // The agent's reason follows as the cause.
      `${ch.spec.name} cannot download the etcd tarball ${f.url} itself (etcd.fetch: host)`,
      {
        host: ch.spec.name,
        step: 'fetch etcd tarball',
        cause: err,
        fix: sha
          ? 'check etcd.source and etcd.sha256 in the inventory (a mirror serving other bytes?)'
          : `check that ${ch.spec.name} reaches ${f.url}${f.proxy ? ` through the proxy ${f.proxy}` : ''} (DNS, proxy, firewall, the mirror's certificate: the host's own trust store counts), or remove 'fetch: host' to push the tarball from here`,
      },
    );
  }
}

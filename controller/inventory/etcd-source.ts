import {
  expectedSha256,
  isUrlSource,
  noChecksumMessage,
  officialEtcdUrl,
} from '../artifacts/etcd-release.ts';
import type { PathProblem } from './problems.ts';
import { ETCD_VERSION } from './schema.ts';

/**
 * With `fetch: host` each host downloads `etcd.source` itself: it must be a URL (a local path is
 * only on this machine), and one without a user or password in it (sent to every host, and shown
 * in messages). The checksum is required as for any download (etcdSourceProblems).
 */
function hostFetchProblems(source: unknown): PathProblem[] {
  if (typeof source !== 'string') return [];
  if (!isUrlSource(source)) {
    return [
      {
        path: ['etcd', 'source'],
        at: 'value',
        message: `etcd.fetch: host has each host download etcd.source, so it must be an http(s) URL the hosts reach, not the local path ${source}; give the URL of the tarball (e.g. on an internal mirror), or remove 'fetch: host' to push this file from here`,
      },
    ];
  }
  let url: URL | undefined;
  try {
    url = new URL(source);
  } catch {
    return []; // zod reports it
  }
  if (url.username || url.password) {
    return [
      {
        path: ['etcd', 'source'],
        at: 'value',
        message:
          "etcd.fetch: host sends etcd.source to every host, and a user or password in the URL would go with it; give a URL without credentials (a mirror the hosts may read), or remove 'fetch: host'",
      },
    ];
  }
  return [];
}

/** What is wrong with etcd.fetchProxy, never repeating it: it may hold a password. */
function fetchProxyProblem(proxy: string): string | undefined {
  if (proxy.includes('@')) {
    return 'etcd.fetchProxy is sent to every host, and a user or password in it would go with it; give the proxy as scheme, host and port only (e.g. http://proxy.internal:3128): one the hosts may use without credentials';
  }
  if (!/^https?:\/\/[^\s/?#]+\/?$/i.test(proxy)) {
    return 'etcd.fetchProxy must be the proxy as scheme (http or https), host and port, without a path (e.g. http://proxy.internal:3128)';
  }
  return undefined;
}

/**
 * A download needs a checksum: an http(s) `etcd.source`, or none (the official URL of
 * `etcd.version`), is refused unless `etcd.sha256` is given or the table of official checksums
 * has the file. A local path needs neither, unless the hosts fetch it. On the raw data; zod
 * reports wrong types.
 */
export function etcdSourceProblems(data: unknown): PathProblem[] {
  const etcd = (data as { etcd?: unknown } | null | undefined)?.etcd;
  if (etcd === null || typeof etcd !== 'object') return [];
  const { version, source, sha256, fetch, fetchProxy } = etcd as Record<string, unknown>;
  if (fetchProxy !== undefined && fetch !== 'host') {
    return [
      {
        path: ['etcd', 'fetchProxy'],
        at: 'key',
        message:
          "etcd.fetchProxy is the proxy the hosts download through, which they do only with 'fetch: host'; add 'fetch: host' (each host downloads etcd.source), or remove fetchProxy (the controller downloads with its own environment's https_proxy)",
      },
    ];
  }
  const proxyProblem = typeof fetchProxy === 'string' ? fetchProxyProblem(fetchProxy) : undefined;
  if (proxyProblem) return [{ path: ['etcd', 'fetchProxy'], at: 'value', message: proxyProblem }];
  const hostFetch = fetch === 'host' ? hostFetchProblems(source) : [];
  if (hostFetch.length > 0) return hostFetch;
  if (sha256 !== undefined || typeof version !== 'string' || !ETCD_VERSION.test(version)) return [];
  if (source === undefined) {
    const url = officialEtcdUrl(version);
    if (expectedSha256(version, url, undefined)) return [];
    const message = noChecksumMessage(version, url, true, fetch === 'host');
    return [{ path: ['etcd', 'version'], at: 'value', message }];
  }
  if (typeof source !== 'string' || !isUrlSource(source) || expectedSha256(version, source, undefined))
    return [];
  const message = noChecksumMessage(version, source, false, fetch === 'host');
  return [{ path: ['etcd', 'source'], at: 'value', message }];
}

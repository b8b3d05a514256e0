/**
 * What a relay offer may serve, and to whom (agent/api/relay.ts): pure checks, the handler
 * (handlers/relay-offer.ts) does the serving.
 */
import { basename } from 'node:path';
import type { RelayOfferRequest } from '../api/index.ts';
import { refused } from '../errors.ts';
import { checkTarball } from './etcd.ts';
import type { HostLayout } from './layout.ts';

export interface RelayFiles {
  layout: HostLayout;
  /** The agent's install dir, where its runtime lives (AGENT_INSTALL_DIR). */
  installDir: string;
  /** The Node executable this agent runs on (process.execPath). */
  execPath: string;
}

/**
 * The one path an offer may serve: the agent's own runtime, if it runs from the install dir as
 * `node-<sha256>`, or a tarball as etcd install takes it (policy/etcd.ts checkTarball: directly in
 * the upload cache, named by the sha256 asked, no symlink on the way). Anything else is refused.
 */
export async function relayFilePath(file: RelayOfferRequest['file'], files: RelayFiles): Promise<string> {
  if (file.kind === 'runtime') {
    if (
      files.execPath !== `${files.installDir}/${basename(files.execPath)}` ||
      !/^node-[0-9a-f]+$/.test(basename(files.execPath))
    ) {
      throw refused(
        `this agent does not run on a runtime in ${files.installDir} (${files.execPath}): nothing to relay`,
      );
    }
    return files.execPath;
  }
  await checkTarball(files.layout, file.tarball, file.sha256, 'a relay serves');
  return file.tarball;
}

/** A connection's remote address is `to` (IPv4, or IPv4-mapped IPv6 as a dual-stack socket reports it). */
export function fromAddress(remoteAddress: string | undefined, to: string): boolean {
  if (remoteAddress === undefined) return false;
  return remoteAddress === to || remoteAddress === `::ffff:${to}`;
}

/** The offer answers GET /<token> only. */
export function servesRequest(method: string | undefined, url: string | undefined, token: string): boolean {
  return method === 'GET' && url === `/${token}`;
}

/**
 * The etcd tarball deploy pushes to hosts: a local file, or an http(s) URL fetched once (undici)
 * into a cache. Either way its sha256 is known before anything is pushed, and checked against
 * `etcd.sha256` when the inventory gives one.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { getGlobalDispatcher, interceptors, request } from 'undici';
import { UPLOAD_CACHE_DIR } from '../../agent/api/index.ts';
import { InputError, TskvError } from '../errors.ts';
import type { EtcdSpec } from '../inventory/model.ts';
import { sha256Tap } from './sha256-tap.ts';

/** A file as it is pushed to hosts. */
export interface PushedForm {
  /** Local path (the inventory's, the cached download, or the cached repack). */
  path: string;
  /** e.g. etcd-v3.4.23-linux-amd64.tar.gz: also its name in the hosts' cache. */
  fileName: string;
  sha256: string;
  size: number;
}

export interface EtcdArtifact extends PushedForm {
  /** Downloaded during this call (false: local file or already cached). */
  downloaded: boolean;
  /** The same archive compressed with zstd, for hosts that have zstd (see etcd-repack.ts). */
  zstd?: PushedForm;
}

/** Where the tarball is kept on every host before it is unpacked. */
export const REMOTE_CACHE_DIR = UPLOAD_CACHE_DIR;

export function remoteTarballPath(artifact: PushedForm): string {
  return `${REMOTE_CACHE_DIR}/${artifact.fileName}`;
}

/** ~/.cache/tskv/etcd (XDG_CACHE_HOME honoured), unless TSKV_CACHE_DIR names another folder. */
export function defaultCacheDir(): string {
  const env = process.env;
  if (env.TSKV_CACHE_DIR) return join(env.TSKV_CACHE_DIR, 'etcd');
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'tskv', 'etcd');
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

function checkSum(spec: EtcdSpec, actual: string, where: string): void {
  if (spec.sha256 && spec.sha256.toLowerCase() !== actual) {
    throw new TskvError(
      'E_ETCD_SHA256',
      `${where} has sha256 ${actual}, the inventory expects ${spec.sha256}`,
      {
        step: 'etcd tarball',
        fix: 'check etcd.source and etcd.sha256 in the inventory (a truncated or replaced download?)',
      },
    );
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

async function download(url: string, into: string): Promise<{ sha256: string; size: number }> {
  const tmp = `${into}.part-${process.pid}`;
  const { tap, result } = sha256Tap();
  try {
    // Release URLs (GitHub, mirrors) answer with redirects.
    const dispatcher = getGlobalDispatcher().compose(interceptors.redirect({ maxRedirections: 5 }));
    const res = await request(url, { method: 'GET', dispatcher });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`HTTP ${res.statusCode}`);
    }
    await pipeline(res.body, tap, createWriteStream(tmp));
    await rename(tmp, into);
    return result();
  } catch (err) {
    await rm(tmp, { force: true });
    throw new TskvError('E_ETCD_DOWNLOAD', `cannot download ${url}`, {
      step: 'etcd tarball',
      cause: err,
      fix: 'check etcd.source (or download it yourself and give the local path)',
    });
  }
}

/** The tarball named by the inventory, local or downloaded into `cacheDir`, with its checksum. */
export async function resolveEtcdTarball(
  spec: EtcdSpec,
  cacheDir = defaultCacheDir(),
): Promise<EtcdArtifact> {
  if (!isUrl(spec.source)) {
    const size = await sizeOf(spec.source);
    if (size === undefined) {
      throw new InputError(`etcd.source ${spec.source} is not a readable file`, {
        step: 'etcd tarball',
        fix: 'give the path of an official etcd-vX.Y.Z-linux-ARCH.tar.gz, or an http(s) URL',
      });
    }
    const sha256 = await sha256File(spec.source);
    checkSum(spec, sha256, spec.source);
    return { path: spec.source, fileName: basename(spec.source), sha256, size, downloaded: false };
  }
  const fileName = basename(new URL(spec.source).pathname) || `etcd-v${spec.version}.tar.gz`;
  await mkdir(cacheDir, { recursive: true });
  const path = join(cacheDir, fileName);
  const cachedSize = await sizeOf(path);
  if (cachedSize !== undefined) {
    const sha256 = await sha256File(path);
    if (!spec.sha256 || spec.sha256.toLowerCase() === sha256) {
      return { path, fileName, sha256, size: cachedSize, downloaded: false };
    }
    await rm(path, { force: true }); // a stale or partial copy: fetch again
  }
  const got = await download(spec.source, path);
  try {
    checkSum(spec, got.sha256, spec.source);
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
  return { path, fileName, sha256: got.sha256, size: got.size, downloaded: true };
}

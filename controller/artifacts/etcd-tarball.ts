/**
 * The etcd tarball deploy pushes to hosts: a local file, or an http(s) URL fetched once (undici)
 * into a cache. Either way its sha256 is known before anything is pushed. A local file is checked
 * against `etcd.sha256` when the inventory gives one; a download always is, or else against the
 * table of official checksums (etcd-checksums.ts), and is refused when neither knows it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Dispatcher, EnvHttpProxyAgent, request } from 'undici';
import { cacheFileName, UPLOAD_CACHE_DIR } from '../../agent/api/index.ts';
import { InputError, TskvError } from '../errors.ts';
import type { EtcdSpec } from '../inventory/model.ts';
import { type ExpectedSha256, expectedSha256, isUrlSource, noChecksumMessage } from './etcd-release.ts';
import { sha256Tap } from './sha256-tap.ts';

/** A file as it is pushed to hosts. */
export interface PushedForm {
  /** Local path (the inventory's, the cached download, or the cached repack). */
  path: string;
  /** e.g. etcd-v3.4.23-linux-amd64.tar.gz (in the hosts' cache with its sha256's prefix: remoteTarballPath). */
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

/**
 * Where a form is kept in the hosts' cache: named by its content (agent/api/cache-name.ts), both
 * forms. The zstd form's bytes depend on the controller's zstd; the .tar.gz's name comes from the
 * inventory's source, and only an official URL without etcd.sha256 pins its bytes (a local file,
 * or a mirror's own build, may carry the release's name with other bytes). So one name never holds
 * two contents: no controller replaces a copy another one is about to relay or install.
 */
export function remoteTarballPath(form: Pick<PushedForm, 'fileName' | 'sha256'>): string {
  return `${REMOTE_CACHE_DIR}/${cacheFileName(form.fileName, form.sha256)}`;
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

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

/** Redirects followed from one URL (release URLs redirect to their storage, once or twice). */
export const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const PROXY_VARIABLES = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY'];

/** The operator's https_proxy/http_proxy/no_proxy, as curl and apt honour them; none set: direct. */
export function proxyDispatcher(env: NodeJS.ProcessEnv = process.env): Dispatcher | undefined {
  return PROXY_VARIABLES.some((name) => env[name]) ? new EnvHttpProxyAgent() : undefined;
}

/** The final 200 answer for `url`, redirects followed by hand: at most MAX_REDIRECTS, never from https to http. */
async function get(url: string): Promise<Dispatcher.ResponseData> {
  let at = new URL(url);
  let secure = at.protocol === 'https:';
  const dispatcher = proxyDispatcher();
  for (let hops = 0; ; hops++) {
    const res = await request(at, { method: 'GET', ...(dispatcher ? { dispatcher } : {}) });
    if (res.statusCode === 200) return res;
    await res.body.dump();
    if (!REDIRECTS.has(res.statusCode)) throw new Error(`HTTP ${res.statusCode} from ${at}`);
    const location = res.headers.location;
    if (typeof location !== 'string') throw new Error(`HTTP ${res.statusCode} from ${at} without a Location`);
    if (hops === MAX_REDIRECTS) {
      throw new Error(`more than ${MAX_REDIRECTS} redirects (the last to ${location})`);
    }
    const next = new URL(location, at);
    if (next.protocol !== 'https:' && next.protocol !== 'http:') {
      throw new Error(`refused the redirect from ${at} to ${next}: not http(s)`);
    }
    if (secure && next.protocol === 'http:') {
      throw new Error(`refused the redirect from ${at} to ${next}: https must not become plain http`);
    }
    secure ||= next.protocol === 'https:';
    at = next;
  }
}

/** The Content-Length a response promises, if it gives one. */
function declaredLength(res: Dispatcher.ResponseData): number | undefined {
  const value = res.headers['content-length'];
  return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** Fetches `url` into `tmp`: its bytes' sha256 and size, with as many bytes as its Content-Length says. */
async function download(url: string, tmp: string): Promise<{ sha256: string; size: number }> {
  const { tap, result } = sha256Tap();
  try {
    const res = await get(url);
    const length = declaredLength(res);
    await pipeline(res.body, tap, createWriteStream(tmp));
    const got = result();
    // undici itself fails a body that ends short of its Content-Length; counted here as well, so
    // that no dispatcher or proxy setting can hand over a cut file as complete.
    if (length !== undefined && got.size !== length) {
      throw new Error(`got ${got.size} bytes where Content-Length said ${length} (a cut connection?)`);
    }
    return got;
  } catch (err) {
    throw new TskvError('E_ETCD_DOWNLOAD', `cannot download ${url}`, {
      step: 'etcd tarball',
      cause: err,
      fix: 'check etcd.source (or download it yourself and give the local path)',
    });
  }
}

function wrongSha256(where: string, actual: string, expected: ExpectedSha256): TskvError {
  const from = expected.from === 'inventory' ? 'etcd.sha256' : "the official checksum in tskv's table";
  return new TskvError('E_ETCD_SHA256', `${where} has sha256 ${actual}, ${from} is ${expected.sha256}`, {
    step: 'etcd tarball',
    fix:
      expected.from === 'inventory'
        ? 'check etcd.source and etcd.sha256 in the inventory (a truncated or replaced download?)'
        : 'this is not the official etcd tarball: check etcd.source (a mirror serving other bytes?)',
  });
}

/**
 * Where a download is kept: one folder per URL and expected sha256, so a changed source or checksum
 * never finds an old file, and the file keeps its own name (the hosts' cache uses it).
 */
function cachedPath(cacheDir: string, url: string, expected: string, fileName: string): string {
  const urlKey = createHash('sha256').update(url).digest('hex').slice(0, 32);
  return join(cacheDir, 'downloads', `${urlKey}-${expected}`, fileName);
}

/** The tarball named by the inventory, local or downloaded into `cacheDir`, with its checksum. */
export async function resolveEtcdTarball(
  spec: EtcdSpec,
  cacheDir = defaultCacheDir(),
): Promise<EtcdArtifact> {
  if (!isUrlSource(spec.source)) {
    const size = await sizeOf(spec.source);
    if (size === undefined) {
      throw new InputError(`etcd.source ${spec.source} is not a readable file`, {
        step: 'etcd tarball',
        fix: 'give the path of an official etcd-vX.Y.Z-linux-ARCH.tar.gz, or an http(s) URL',
      });
    }
    const sha256 = await sha256File(spec.source);
    const expected = spec.sha256?.toLowerCase();
    if (expected && expected !== sha256) {
      throw wrongSha256(spec.source, sha256, { sha256: expected, from: 'inventory' });
    }
    return { path: spec.source, fileName: basename(spec.source), sha256, size, downloaded: false };
  }
  // The inventory refuses such a source already; this holds for specs made elsewhere too.
  const expected = expectedSha256(spec.version, spec.source, spec.sha256);
  if (!expected) {
    throw new InputError(noChecksumMessage(spec.version, spec.source, false), { step: 'etcd tarball' });
  }
  const fileName = basename(new URL(spec.source).pathname) || `etcd-v${spec.version}.tar.gz`;
  const path = cachedPath(cacheDir, spec.source, expected.sha256, fileName);
  await mkdir(dirname(path), { recursive: true });
  // A cached copy is used only once its bytes hash to the expected sha256 again, every time.
  const cachedSize = await sizeOf(path);
  if (cachedSize !== undefined) {
    if ((await sha256File(path)) === expected.sha256) {
      return { path, fileName, sha256: expected.sha256, size: cachedSize, downloaded: false };
    }
    await rm(path, { force: true }); // damaged: fetch again
  }
  // Written beside its place, and moved there only once verified.
  const tmp = `${path}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    const got = await download(spec.source, tmp);
    if (got.sha256 !== expected.sha256) throw wrongSha256(spec.source, got.sha256, expected);
    await rename(tmp, path);
    return { path, fileName, sha256: got.sha256, size: got.size, downloaded: true };
  } finally {
    await rm(tmp, { force: true });
  }
}

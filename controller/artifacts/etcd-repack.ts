/**
 * What hosts with zstd receive instead of the .tar.gz: the same tar archive, recompressed with
 * zstd once per tarball (by sha256) in the controller's cache. Unpacking it on a host costs
 * ~0.06 s of CPU instead of gzip's ~0.2 s (etcd 3.4 on the lab), and that sits on a fresh
 * deploy's critical path. The bytes inside are the verified tarball's; the upload checks the
 * repacked file's own sha256 on the host.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { constants, createGunzip, createZstdCompress } from 'node:zlib';
import type { EtcdSpec } from '../inventory/model.ts';
import {
  defaultCacheDir,
  type EtcdArtifact,
  type PushedForm,
  resolveEtcdTarball,
  sha256File,
} from './etcd-tarball.ts';
import { sha256Tap } from './sha256-tap.ts';

const GZIP_NAME = /^(.+)\.(?:tar\.gz|tgz)$/;

interface Recorded {
  sha256: string;
  size: number;
}

async function recorded(path: string): Promise<Recorded | undefined> {
  try {
    const r = JSON.parse(await readFile(`${path}.json`, 'utf8')) as Recorded;
    const s = await stat(path);
    if (s.size !== r.size || !/^[0-9a-f]{64}$/.test(r.sha256)) return undefined;
    // Taken only while its bytes still hash as recorded: a damaged repack is made again.
    return (await sha256File(path)) === r.sha256 ? r : undefined;
  } catch {
    return undefined;
  }
}

async function recompress(from: string, to: string): Promise<Recorded> {
  const tmp = `${to}.part-${process.pid}`;
  const { tap, result } = sha256Tap();
  try {
    await pipeline(
      createReadStream(from),
      createGunzip(),
      createZstdCompress({ params: { [constants.ZSTD_c_compressionLevel]: 3 } }),
      tap,
      createWriteStream(tmp),
    );
    const r = result();
    await writeFile(`${to}.json`, JSON.stringify(r));
    await rename(tmp, to);
    return r;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** The zstd form of a .tar.gz artifact (made on first use), or undefined for other sources or on failure. */
export async function zstdForm(artifact: EtcdArtifact, cacheDir: string): Promise<PushedForm | undefined> {
  const base = GZIP_NAME.exec(artifact.fileName)?.[1];
  if (!base) return undefined;
  const fileName = `${base}.tar.zst`;
  const dir = join(cacheDir, 'repacked', artifact.sha256);
  const path = join(dir, fileName);
  try {
    await mkdir(dir, { recursive: true });
    const r = (await recorded(path)) ?? (await recompress(artifact.path, path));
    return { path, fileName, sha256: r.sha256, size: r.size };
  } catch {
    // Only a speed-up: the .tar.gz itself still works everywhere.
    return undefined;
  }
}

/** The inventory's tarball (see resolveEtcdTarball) with its zstd form when one can be made. */
export async function resolveEtcdArtifact(
  spec: EtcdSpec,
  cacheDir = defaultCacheDir(),
): Promise<EtcdArtifact> {
  const artifact = await resolveEtcdTarball(spec, cacheDir);
  const zstd = await zstdForm(artifact, cacheDir);
  return zstd ? { ...artifact, zstd } : artifact;
}

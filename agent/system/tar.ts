import { runCommand } from './run.ts';

/** Unpack a (gzip/xz/zstd-compressed: tar detects which) tarball into an existing directory. */
export async function extractTarball(tarball: string, intoDir: string): Promise<void> {
  const r = await runCommand('tar', ['-xf', tarball, '-C', intoDir, '--no-same-owner'], 120_000);
  if (r.code !== 0) {
    const why = r.notFound ? 'tar is not installed' : r.stderr.trim() || `tar exited ${r.code}`;
    throw new Error(`cannot unpack ${tarball}: ${why}`);
  }
}

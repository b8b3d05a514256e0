import { runCommand } from './run.ts';

/**
 * Unpack a tarball into an existing directory. gzip and xz: tar detects them. zstd (the form the
 * controller pushes to hosts with zstd): named explicitly, since GNU tar detects zstd only from
 * 1.31 on (EL8 has 1.30), while --use-compress-program is decades old.
 */
export async function extractTarball(tarball: string, intoDir: string): Promise<void> {
  const zstd = tarball.endsWith('.zst') ? ['--use-compress-program=zstd'] : [];
  const r = await runCommand('tar', [...zstd, '-xf', tarball, '-C', intoDir, '--no-same-owner'], 120_000);
  if (r.code !== 0) {
    const why = r.notFound ? 'tar is not installed' : r.stderr.trim() || `tar exited ${r.code}`;
    throw new Error(`cannot unpack ${tarball}: ${why}`);
  }
}

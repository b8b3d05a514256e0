/**
 * Files in UPLOAD_CACHE_DIR are named by their content: the name they come with (the release's
 * or the source's) with the first CACHE_NAME_SHA256_DIGITS hex digits of their sha256 before the
 * archive extension (etcd-v3.4.23-linux-amd64.0123456789abcdef.tar.zst). A name, once written,
 * holds one content: two controllers whose copies differ (another zstd, a local build named like
 * the release) each get their own file, and neither replaces a file the other is about to relay
 * or unpack. The controller names them (controller/artifacts/etcd-tarball.ts remoteTarballPath);
 * the agent takes, fetches into and relays only names that carry the sha256 it is given.
 */

/** As the agent's runtime (node-<first 16 hex>): enough to tell copies apart, the full sha256 is checked. */
export const CACHE_NAME_SHA256_DIGITS = 16;

/** The archive extension, kept last: tar is told zstd by the name's `.zst` (agent/system/tar.ts). */
const ARCHIVE_EXTENSION = /(?:\.tar(?:\.[A-Za-z0-9]+)?|\.t[a-z]z2?)$/;

function splitExtension(name: string): [stem: string, extension: string] {
  const extension = ARCHIVE_EXTENSION.exec(name)?.[0] ?? '';
  return [name.slice(0, name.length - extension.length), extension];
}

/** `fileName` in the cache, named by `sha256`. */
export function cacheFileName(fileName: string, sha256: string): string {
  const [stem, extension] = splitExtension(fileName);
  return `${stem}.${sha256.slice(0, CACHE_NAME_SHA256_DIGITS)}${extension}`;
}

/** Whether `name` is a cache name cacheFileName gives a file whose sha256 is `sha256` (no hidden name, no empty stem). */
export function namesContent(name: string, sha256: string): boolean {
  const [stem] = splitExtension(name);
  const tag = `.${sha256.slice(0, CACHE_NAME_SHA256_DIGITS)}`;
  return (
    /^[0-9a-f]{64}$/.test(sha256) && stem.endsWith(tag) && stem.length > tag.length && !name.startsWith('.')
  );
}

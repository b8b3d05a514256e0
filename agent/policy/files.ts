import { basename, dirname } from 'node:path';
import { ETCD_PKI_DIR, ETCD_PKI_FILES } from '../api/index.ts';
import { refused } from '../errors.ts';
import { type HostLayout, isWithin } from './layout.ts';
import { checkSecurePath } from './secure-path.ts';

/** The largest file the file routes read or write: they are for configuration files. */
export const MAX_FILE_BYTES = 1024 * 1024;

/** The allowed folder `path` is in (for checkSecurePath), or null. */
function allowedTop(path: string, files: string[], dirs: string[]): string | null {
  if (files.includes(path)) return dirname(path);
  return dirs.find((dir) => path !== dir && isWithin(path, dir)) ?? null;
}

/**
 * What /v1/files/read may read: the env file, the unit file, files under etcd's configuration
 * folder, /var/lib/tskv and /run/tskv, each reached without a symlink or a folder anyone else can
 * change (checkSecurePath).
 */
export async function checkReadable(layout: HostLayout, path: string): Promise<void> {
  const dirs = [layout.configDir, layout.libDir, layout.runDir];
  const top = allowedTop(path, [layout.envFile, layout.unitFile], dirs);
  if (top === null) {
    throw refused(
      `the file routes read only ${layout.envFile}, ${layout.unitFile} and files under ${dirs.join(', ')}, not ${path}`,
    );
  }
  await checkSecurePath(top, path, 'the file routes read');
}

/** The TLS folder of etcd's configuration folder (ETCD_PKI_DIR on a host). */
function pkiDir(layout: HostLayout): string {
  return `${layout.configDir}/${basename(ETCD_PKI_DIR)}`;
}

/** Whether `path` is in the TLS folder (private keys among its files). */
export function isTlsMaterial(layout: HostLayout, path: string): boolean {
  return isWithin(path, pkiDir(layout)) && path !== pkiDir(layout);
}

const TLS_FILE_NAMES = Object.values(ETCD_PKI_FILES).map((p) => basename(p));

/**
 * What /v1/files/write may write: files under etcd's configuration folder, reached as for reads,
 * in its TLS folder only the files tskv places there (ETCD_PKI_FILES); the env file holds only
 * etcd's settings (envFileProblem).
 */
export async function checkWritable(layout: HostLayout, path: string, content: string): Promise<void> {
  const top = allowedTop(path, [], [layout.configDir]);
  if (top === null) {
    throw refused(`the file routes write only files under ${layout.configDir}, not ${path}`);
  }
  await checkSecurePath(top, path, 'the file routes write');
  const tlsFile = dirname(path) === pkiDir(layout) && TLS_FILE_NAMES.includes(basename(path));
  if (isTlsMaterial(layout, path) && !tlsFile) {
    throw refused(
      `the file routes write in ${pkiDir(layout)} only ${TLS_FILE_NAMES.join(', ')}, not ${path}`,
    );
  }
  const problem = path === layout.envFile ? envFileProblem(content) : undefined;
  if (problem) throw refused(`${path} holds only etcd's ETCD_* settings: ${problem}`);
}

/**
 * Why `content` is not an env file of etcd's settings only, or undefined: every line is blank, a
 * comment, or an ETCD_* assignment, and nothing else (LD_PRELOAD, PATH...) reaches the etcd that
 * systemd or the supervisor starts from it as root. No control character but tab: systemd also
 * ends a line at a carriage return.
 */
export function envFileProblem(content: string): string | undefined {
  const lines = content.split('\n');
  for (const [i, line] of lines.entries()) {
    const where = `line ${i + 1}`;
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(line)) return `${where} has a control character`;
    if (line.trim() === '' || /^[#;]/.test(line)) continue;
    if (!/^ETCD_[A-Z0-9_]+=/.test(line)) return `${where} is not ETCD_NAME=value: ${line.slice(0, 60)}`;
  }
  return undefined;
}

import { z } from 'zod';

/**
 * Request fields the agent takes from any caller of its socket (who is root through it): each
 * refuses what tskv never sends, with a message naming the rule.
 */

/** Longest path accepted (Linux's PATH_MAX). */
const MAX_PATH = 4096;

/**
 * Why `path` is not an absolute path in normal form, or undefined: no control characters, no
 * empty, `.` or `..` component (so no `//`), no trailing `/`. A path that passes is what
 * path.posix.normalize makes of it, and names the same file whatever its parents are.
 */
export function pathProblem(path: string): string | undefined {
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'must not contain control characters';
  if (!path.startsWith('/')) return 'must be an absolute path';
  if (path.length > MAX_PATH) return `must be at most ${MAX_PATH} characters`;
  if (path === '/') return undefined;
  if (path.endsWith('/')) return "must not end in '/'";
  const parts = path.slice(1).split('/');
  if (parts.includes('')) return "must be normalised: no '//'";
  if (parts.includes('..')) return "must be normalised: no '..' component";
  if (parts.includes('.')) return "must be normalised: no '.' component";
  return undefined;
}

/** A path on the host: absolute and normalised (see pathProblem). */
export const hostPath = z.string().superRefine((path, ctx) => {
  const problem = pathProblem(path);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A sha256 as the controller sends it: 64 lower-case hex digits. */
export const sha256Hex = z
  .string()
  .regex(/^[0-9a-f]{64}$/, { message: 'must be 64 lower-case hexadecimal digits' });

/** A file's permission bits: 0 to 0o777, never setuid, setgid or sticky. */
export const fileMode = z
  .number()
  .int()
  .min(0, { message: 'must be permission bits 0 to 0o777' })
  .max(0o777, { message: 'must be permission bits 0 to 0o777 (no setuid, setgid or sticky bit)' });

/** An etcd release: 3.5.17, 3.6.0-rc.1. It names the install folder v<version>. */
export const ETCD_VERSION_PATTERN = /^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/;

export const etcdVersion = z
  .string()
  .regex(ETCD_VERSION_PATTERN, { message: 'must be an etcd release version like 3.5.17 or 3.6.0-rc.1' });

/** An NTP server as the time service's configuration takes it: a host name or an IP address, one word. */
export const ntpServer = z.string().regex(/^[A-Za-z0-9:][A-Za-z0-9.:-]{0,252}$/, {
  message: 'must be a host name or an IP address (letters, digits, . : -)',
});

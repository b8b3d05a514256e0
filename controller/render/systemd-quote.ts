/**
 * Paths as a systemd unit's path lists read them (ReadWritePaths=): one word each, double-quoted
 * with `\` and `"` escaped when it holds anything but safe characters, and `%` doubled (systemd
 * expands %-specifiers there). agent/policy/etcd-unit.ts reads them back the same way.
 */

/** One path as one word of a systemd path list. */
export function unitPath(path: string): string {
  const escaped = path.replaceAll('%', '%%');
  if (/^[A-Za-z0-9_@+=:,./-]+$/.test(escaped)) return escaped;
  return `"${escaped.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Paths as one systemd path list value. */
export function unitPaths(paths: readonly string[]): string {
  return paths.map(unitPath).join(' ');
}

import { readFile } from 'node:fs/promises';

/** Undo mountinfo's octal escapes (\040 for a space, \011, \012, \134). */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** The mount points in a /proc/PID/mountinfo text (its fifth field). */
export function parseMountPoints(mountinfo: string): Set<string> {
  const points = new Set<string>();
  for (const line of mountinfo.split('\n')) {
    const field = line.split(' ')[4];
    if (field) points.add(unescapeMountPath(field));
  }
  return points;
}

/** The mount points this process sees. */
export async function mountPoints(): Promise<Set<string>> {
  return parseMountPoints(await readFile('/proc/self/mountinfo', 'utf8'));
}

import { readFile } from 'node:fs/promises';

export interface OsRelease {
  id: string;
  versionId: string;
  prettyName: string;
}

/** Parse /etc/os-release (KEY=value lines, values optionally quoted). */
export function parseOsRelease(text: string): OsRelease {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let value = m[2] ?? '';
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1).replace(/\\(["'\\$`])/g, '$1');
    values.set(m[1] ?? '', value);
  }
  return {
    id: values.get('ID') ?? 'unknown',
    versionId: values.get('VERSION_ID') ?? '',
    prettyName: values.get('PRETTY_NAME') ?? values.get('NAME') ?? 'unknown',
  };
}

export async function readOsRelease(): Promise<OsRelease> {
  for (const path of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      return parseOsRelease(await readFile(path, 'utf8'));
    } catch {
      // try the next location
    }
  }
  return { id: 'unknown', versionId: '', prettyName: 'unknown' };
}

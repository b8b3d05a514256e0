/** The file system and inventories as completion reads them: quietly, never failing a TAB. */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { CompletionSources } from './candidates.ts';

const MAX_INVENTORY_BYTES = 1024 * 1024;

export const fileSystemSources: CompletionSources = {
  listFiles(prefix) {
    const slash = prefix.lastIndexOf('/');
    const dir = slash < 0 ? '' : prefix.slice(0, slash + 1);
    try {
      return readdirSync(dir === '' ? '.' : dir, { withFileTypes: true })
        .filter((e) => !e.name.startsWith('.') || prefix.slice(slash + 1).startsWith('.'))
        .map((e) => `${dir}${e.name}${e.isDirectory() ? '/' : ''}`)
        .sort();
    } catch {
      return [];
    }
  },
  hostsOf(inventory) {
    try {
      if (statSync(inventory).size > MAX_INVENTORY_BYTES) return [];
      const doc = parse(readFileSync(join(inventory), 'utf8')) as { hosts?: unknown } | null;
      const hosts = doc?.hosts;
      return hosts && typeof hosts === 'object' && !Array.isArray(hosts) ? Object.keys(hosts) : [];
    } catch {
      return [];
    }
  },
};

/**
 * What `tskv <TAB>` offers, read from each command's usage text (so it follows the commands): commands,
 * subcommands, flags, and for a positional or flag value by its placeholder: INVENTORY inventory files,
 * HOST/NAME the inventory's hosts, FILE/PATH/DIR any file.
 */

import { GLOBAL_FLAGS, TOP_FLAGS } from '../commands/names.ts';

export interface CommandUsage {
  name: string;
  usage: string;
}

export interface CompletionSources {
  /** Entries of the folder a typed prefix names ('' for the current one): names, folders with a trailing '/'. */
  listFiles(prefix: string): string[];
  /** The member names of an inventory file ([] when it cannot be read). */
  hostsOf(inventory: string): string[];
}

interface Shape {
  /** The usage lines' words after `tskv NAME`. */
  forms: string[][];
  /** Flags and whether each takes a value (its placeholder, e.g. NAME), from the usage text. */
  flags: Map<string, string | undefined>;
}

function shape(usage: string, name: string): Shape {
  const forms: string[][] = [];
  for (const line of usage.split('\n')) {
    // `usage: tskv NAME ...` and its continuation lines aligned under it (not the examples).
    const m = new RegExp(`^(?:usage: | {7})tskv ${name}\\b(.*)$`).exec(line);
    if (m)
      forms.push(
        m[1]!
          .replace(/\[[^\]]*\]/g, ' ')
          .trim()
          .split(/\s+/)
          .filter(Boolean),
      );
  }
  const flags = new Map<string, string | undefined>();
  for (const m of usage.matchAll(/(--[a-z][a-z0-9-]*)(?:[ =]([A-Z][A-Z_|]*)\b)?/g)) {
    if (!flags.has(m[1]!) || m[2] !== undefined) flags.set(m[1]!, m[2]);
  }
  return { forms, flags };
}

function byPlaceholder(
  placeholder: string | undefined,
  prefix: string,
  inventory: string | undefined,
  src: CompletionSources,
): string[] {
  if (placeholder === undefined) return [];
  if (/^[a-z][a-z0-9|-]*$/.test(placeholder)) return placeholder.split('|');
  if (placeholder === 'INVENTORY') {
    return src.listFiles(prefix).filter((f) => f.endsWith('/') || /\.ya?ml$/.test(f));
  }
  if (/^(HOST|NAME)/.test(placeholder)) return inventory === undefined ? [] : src.hostsOf(inventory);
  if (/FILE|PATH|DIR/.test(placeholder)) return src.listFiles(prefix);
  return [];
}

/** The candidates for words[cword] (words[0] is `tskv`), filtered by what is typed. */
export function candidates(
  words: string[],
  cword: number,
  commands: CommandUsage[],
  src: CompletionSources,
): string[] {
  const current = words[cword] ?? '';
  const keep = (list: string[]) => [...new Set(list)].filter((c) => c.startsWith(current));
  if (cword <= 1) return keep(current.startsWith('-') ? [...TOP_FLAGS] : commands.map((c) => c.name));
  const cmd = commands.find((c) => c.name === words[1]);
  if (!cmd) return [];
  const { forms, flags } = shape(cmd.usage, cmd.name);
  for (const [flag, placeholder] of GLOBAL_FLAGS) if (!flags.has(flag)) flags.set(flag, placeholder);
  const positionals: string[] = [];
  for (let i = 2; i < cword; i++) {
    const w = words[i]!;
    if (w === '--') return keep(src.listFiles(current)); // another program's words
    if (w.startsWith('-')) {
      if (!w.includes('=') && flags.get(w) !== undefined) {
        if (i + 1 === cword) {
          const inventory = positionals.find((_, k) => placeholderAt(forms, positionals, k) === 'INVENTORY');
          return keep(byPlaceholder(flags.get(w), current, inventory, src));
        }
        i++;
      }
      continue;
    }
    positionals.push(w);
  }
  if (current.startsWith('-')) return keep([...flags.keys()]);
  const inventory = positionals.find((_, k) => placeholderAt(forms, positionals, k) === 'INVENTORY');
  const options = forms
    .filter((f) => matches(f, positionals))
    .map((f) => f[positionals.length])
    .filter((p): p is string => p !== undefined && !p.startsWith('-'));
  return keep(options.flatMap((p) => byPlaceholder(p, current, inventory, src)));
}

/** A usage form fits the words so far when its literal words (subcommands) match. */
function matches(form: string[], positionals: string[]): boolean {
  return positionals.every((w, k) => {
    const p = form[k];
    if (p === undefined) return false;
    return /^[a-z][a-z0-9|-]*$/.test(p) ? p.split('|').includes(w) : true;
  });
}

function placeholderAt(forms: string[][], positionals: string[], k: number): string | undefined {
  return forms.find((f) => matches(f, positionals.slice(0, k)))?.[k];
}

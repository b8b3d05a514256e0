/** Reading an ssh_config file the way OpenSSH's readconf.c does: lines, quoting, Include (with globs and loop detection). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';

/** A place in a config file, for messages and for `tskv ssh-config`'s sources. */
export interface ConfigPlace {
  file: string;
  line: number;
}

export interface Directive extends ConfigPlace {
  kind: 'directive';
  /** Lower-case, as OpenSSH compares keywords. */
  keyword: string;
  args: string[];
}

export interface IncludeNode extends ConfigPlace {
  kind: 'include';
  /** The included files in glob order, each parsed. */
  files: ParsedConfig[];
}

export interface ParsedConfig {
  file: string;
  entries: (Directive | IncludeNode)[];
}

/** A config OpenSSH would refuse: names the file and line. */
export class SshConfigError extends Error {
  readonly place: ConfigPlace;
  readonly reason: string;
  constructor(place: ConfigPlace, reason: string) {
    super(`${place.file}:${place.line}: ${reason}`);
    this.place = place;
    this.reason = reason;
  }
}

/** OpenSSH's limit on nested Include (READCONF_MAX_DEPTH). */
const MAX_DEPTH = 16;
const MAX_CONFIG_BYTES = 1024 * 1024;

/** Splits a line into words as OpenSSH's argv_split: quotes, backslash escapes, `#` at a word's start ends the line. */
export function splitWords(text: string, place: ConfigPlace): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
    if (i >= text.length || text[i] === '#') break;
    let word = '';
    let quote: string | undefined;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (quote === undefined && (c === ' ' || c === '\t')) break;
      if (
        c === '\\' &&
        (text[i + 1] === '"' || text[i + 1] === "'" || text[i + 1] === '\\' || text[i + 1] === ' ')
      ) {
        word += text[++i];
      } else if (quote === undefined && (c === '"' || c === "'")) quote = c;
      else if (quote === c) quote = undefined;
      else word += c;
    }
    if (quote !== undefined) throw new SshConfigError(place, 'unterminated quoted string');
    words.push(word);
  }
  return words;
}

/** `Keyword args` or `Keyword=args`: the keyword (lower-case) and its words, or undefined for a blank or comment line. */
function parseLine(raw: string, place: ConfigPlace): { keyword: string; args: string[] } | undefined {
  const text = raw.replace(/\r$/, '').trim();
  if (text === '' || text.startsWith('#')) return undefined;
  const m = /^([^\s=]+)\s*(?:=\s*|\s+|$)(.*)$/.exec(text);
  if (!m) throw new SshConfigError(place, `cannot read line '${text}'`);
  return { keyword: m[1]!.toLowerCase(), args: splitWords(m[2]!, place) };
}

/** `*` and `?` in the last path component: the matching files, sorted as glob(3) does. */
function expandGlob(path: string): string[] {
  if (!/[*?[]/.test(path)) {
    try {
      return statSync(path).isFile() ? [path] : [];
    } catch {
      return [];
    }
  }
  const dir = dirname(path);
  const re = new RegExp(
    `^${basename(path)
      .replace(/[.+^${}()|\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => re.test(n) && !n.startsWith('.'))
    .sort()
    .map((n) => join(dir, n))
    .filter((p) => statSync(p).isFile());
}

export interface ParseOptions {
  /** The user's home folder: `~` and relative Include paths (~/.ssh/...). */
  home: string;
}

/** Reads and parses a config file and everything it includes. Throws SshConfigError (file:line) for what OpenSSH refuses. */
export function parseSshConfigFile(
  file: string,
  options: ParseOptions,
  stack: ConfigPlace[] = [],
): ParsedConfig {
  let text: string;
  try {
    const size = statSync(file).size;
    if (size > MAX_CONFIG_BYTES) throw new Error(`larger than ${MAX_CONFIG_BYTES} bytes`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const why = (err as Error).message;
    const from = stack.at(-1);
    if (from) throw new SshConfigError(from, `cannot read included ${file}: ${why}`);
    throw new SshConfigError({ file, line: 0 }, `cannot read: ${why}`);
  }
  return parseSshConfigText(text, file, options, stack);
}

export function parseSshConfigText(
  text: string,
  file: string,
  options: ParseOptions,
  stack: ConfigPlace[] = [],
): ParsedConfig {
  const entries: ParsedConfig['entries'] = [];
  text.split('\n').forEach((raw, index) => {
    const place = { file, line: index + 1 };
    const parsed = parseLine(raw, place);
    if (!parsed) return;
    if (parsed.keyword !== 'include') {
      entries.push({ kind: 'directive', ...place, ...parsed });
      return;
    }
    if (parsed.args.length === 0) throw new SshConfigError(place, 'Include needs a file name');
    const files: ParsedConfig[] = [];
    for (const arg of parsed.args) {
      const path = arg.startsWith('~/')
        ? join(options.home, arg.slice(2))
        : isAbsolute(arg)
          ? arg
          : join(options.home, '.ssh', arg);
      for (const found of expandGlob(path)) {
        const loop = stack.find((p) => p.file === found) ?? (found === file ? place : undefined);
        if (loop || stack.length >= MAX_DEPTH) {
          const chain = [...stack, place].map((p) => `${p.file}:${p.line}`).join(' → ');
          throw new SshConfigError(place, `Include loop: ${found} is already being read (${chain})`);
        }
        files.push(parseSshConfigFile(found, options, [...stack, place]));
      }
    }
    entries.push({ kind: 'include', ...place, files });
  });
  return { file, entries };
}

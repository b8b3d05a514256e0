/** Ansible's INI inventory format, as ansible's own ini plugin reads it. */
import { InputError } from '../errors.ts';
import { type AnsibleInventory, addHost, emptyInventory, groupOf } from './ansible-model.ts';
import { expandHostPattern } from './ansible-ranges.ts';

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$/;

function fail(file: string, line: number, message: string): never {
  throw new InputError(`${file}:${line}: ${message}`);
}

/** Words split the way shlex.split(line, comments=True) does: quotes group, `#` at a word's start ends the line. */
export function shellWords(text: string): { words: string[] } | { problem: string } {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) {
        word = (word ?? '') + text[++i];
      } else word = (word ?? '') + c;
    } else if (c === ' ' || c === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === '#' && word === undefined) {
      break;
    } else if (c === '"' || c === "'") {
      quote = c;
      word ??= '';
    } else if (c === '\\' && i + 1 < text.length) {
      word = (word ?? '') + text[++i];
    } else {
      word = (word ?? '') + c;
    }
  }
  if (quote) return { problem: `unterminated ${quote} quote` };
  if (word !== undefined) words.push(word);
  return { words };
}

/** A value as ansible's _parse_value reads it: Python literals (numbers, quoted strings, True/False), else the text. */
export function iniValue(text: string): unknown {
  const t = text.trim();
  if (/^-?[0-9]+$/.test(t)) return Number(t);
  if (t === 'True') return true;
  if (t === 'False') return false;
  if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t.at(-1) === t[0]) return t.slice(1, -1);
  return t;
}

export function parseAnsibleIni(text: string, file: string): AnsibleInventory {
  const inv = emptyInventory(file);
  let group = 'ungrouped';
  let kind: 'hosts' | 'vars' | 'children' = 'hosts';
  const lines = text.split(/\r?\n/);
  for (let n = 1; n <= lines.length; n++) {
    const line = lines[n - 1]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      const m = SECTION.exec(line);
      if (!m) fail(file, n, `'${line}' is not a section header ([group], [group:vars] or [group:children])`);
      const [, name, suffix] = m;
      if (suffix !== undefined && suffix !== 'vars' && suffix !== 'children') {
        fail(file, n, `section [${name}:${suffix}]: expected :vars or :children after the group name`);
      }
      group = name!;
      kind = (suffix as 'vars' | 'children' | undefined) ?? 'hosts';
      groupOf(inv, group);
      continue;
    }
    if (kind === 'vars') {
      const eq = line.indexOf('=');
      if (eq <= 0) fail(file, n, `expected key=value in [${group}:vars], got '${line}'`);
      groupOf(inv, group).vars[line.slice(0, eq).trim()] = iniValue(line.slice(eq + 1));
    } else if (kind === 'children') {
      const split = shellWords(line);
      if ('problem' in split) fail(file, n, split.problem);
      const [child, ...extra] = split.words;
      if (child === undefined) continue;
      if (extra.length > 0) fail(file, n, `expected one group name in [${group}:children], got '${line}'`);
      groupOf(inv, child);
      groupOf(inv, group).children.add(child);
    } else {
      hostLine(inv, group, line, n);
    }
  }
  return inv;
}

function hostLine(inv: AnsibleInventory, group: string, line: string, n: number): void {
  const split = shellWords(line);
  if ('problem' in split) fail(inv.file, n, split.problem);
  const [pattern, ...assignments] = split.words;
  if (pattern === undefined) return;
  const vars: Record<string, unknown> = Object.create(null);
  for (const a of assignments) {
    const eq = a.indexOf('=');
    if (eq <= 0) fail(inv.file, n, `expected key=value host variable assignment, got '${a}'`);
    vars[a.slice(0, eq)] = iniValue(a.slice(eq + 1));
  }
  // host:port (not an IPv6 address, which has more than one colon).
  let name = pattern;
  const port = /^([^:]+):([0-9]+)$/.exec(pattern);
  if (port) {
    name = port[1]!;
    vars.ansible_port ??= Number(port[2]);
  }
  const expanded = expandHostPattern(name);
  if ('problem' in expanded) fail(inv.file, n, expanded.problem);
  for (const host of expanded.hosts) addHost(inv, group, host, { ...vars }, n);
}

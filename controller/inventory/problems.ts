import { InputError } from '../errors.ts';

export type PathSegment = string | number;

/** A problem found in the data, before it is placed in the file: `at` says whether to point at the key or its value. */
export interface PathProblem {
  path: PathSegment[];
  at: 'key' | 'value';
  message: string;
}

/** A problem placed in the file (1-based line and column). */
export interface Problem {
  line: number;
  column: number;
  message: string;
}

export function formatProblem(file: string, p: Problem): string {
  return `${file}:${p.line}:${p.column}: ${p.message}`;
}

/** Everything wrong with one inventory file, one `file:line:col: message` line per problem. */
export class InventoryError extends InputError {
  readonly problems: Problem[];
  readonly file: string;

  constructor(file: string, problems: Problem[]) {
    super(problems.map((p) => formatProblem(file, p)).join('\n'));
    this.name = 'InventoryError';
    this.file = file;
    this.problems = problems;
  }
}

export function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
}

/** "hosts.h102.address"; the root is "the inventory". */
export function dotted(path: readonly PathSegment[]): string {
  return path.length === 0 ? 'the inventory' : path.join('.');
}

/**
 * A string in double quotes with JSON's escapes, and \u escapes also for what a terminal would not show
 * (C1 controls, format characters such as bidi overrides, line separators, noncharacters).
 */
export function quoted(value: string): string {
  return JSON.stringify(value).replace(/[\p{C}\p{Zl}\p{Zp}]/gu, (ch) => {
    const cp = ch.codePointAt(0)!;
    return cp > 0xffff ? `\\u{${cp.toString(16)}}` : `\\u${cp.toString(16).padStart(4, '0')}`;
  });
}

/** A value as an operator would recognise it in a message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'nothing (an empty value)';
  if (typeof value === 'string') return quoted(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return String(value);
}

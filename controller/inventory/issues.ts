import type { z } from 'zod';
import { describeValue, dotted, type PathProblem, type PathSegment } from './problems.ts';
import { hintFor, knownKeys, whyWrong } from './schema.ts';
import { closest, suggestion } from './suggest.ts';

type Issue = z.core.$ZodIssue;

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let cur = data;
  for (const segment of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[String(segment)];
  }
  return cur;
}

function hasKey(data: unknown, path: readonly PathSegment[]): boolean {
  const parent = valueAt(data, path.slice(0, -1));
  return parent !== null && typeof parent === 'object' && Object.hasOwn(parent, String(path.at(-1)));
}

function pathOf(issue: Issue): PathSegment[] {
  return issue.path.filter((s): s is PathSegment => typeof s !== 'symbol');
}

function unknownKeyProblems(path: PathSegment[], keys: string[]): PathProblem[] {
  const known = knownKeys(path);
  const where = path.length ? ` in ${dotted(path)}` : '';
  return keys.map((key) => ({
    path: [...path, key],
    at: 'key',
    message: `unknown key '${key}'${where}; ${suggestion(key, known)}`,
  }));
}

function valueProblem(issue: Issue, path: PathSegment[], data: unknown): PathProblem {
  const value = valueAt(data, path);
  let message = `${dotted(path)} must be ${hintFor(path)}; got ${describeValue(value)}`;
  const why = whyWrong(path, value);
  if (why !== undefined) message += `, which ${why}`;
  if (issue.code === 'invalid_value' && typeof value === 'string') {
    const near = closest(
      value,
      issue.values.map((v) => String(v)),
    );
    if (near !== undefined) message += `; did you mean '${near}'?`;
  }
  return { path, at: 'value', message };
}

/** zod's issues as operator-facing problems: what is wrong and what would be right. */
export function zodProblems(issues: readonly Issue[], data: unknown): PathProblem[] {
  const problems: PathProblem[] = [];
  // A misspelt key is one problem, not two: "unknown 'tokn', did you mean 'token'" covers the missing 'token'.
  const misspelt = new Set<string>();
  for (const issue of issues) {
    if (issue.code !== 'unrecognized_keys') continue;
    const path = pathOf(issue);
    for (const p of unknownKeyProblems(path, issue.keys)) {
      problems.push(p);
      const near = closest(String(p.path.at(-1)), knownKeys(path));
      if (near !== undefined) misspelt.add(JSON.stringify([...path, near]));
    }
  }
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') continue;
    const path = pathOf(issue);
    if (path.length > 0 && !hasKey(data, path)) {
      if (misspelt.has(JSON.stringify(path))) continue;
      const parent = path.slice(0, -1);
      const where = parent.length ? ` in ${dotted(parent)}` : '';
      const message = `missing required key '${String(path.at(-1))}'${where}: ${hintFor(path)}`;
      problems.push({ path, at: 'key', message });
    } else {
      problems.push(valueProblem(issue, path, data));
    }
  }
  return problems;
}

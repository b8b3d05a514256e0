import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  visit,
} from 'yaml';
import type { PathProblem, PathSegment, Problem } from './problems.ts';

export interface ParsedYaml {
  /** Plain JS value of the document (null for an empty file). */
  data: unknown;
  /** YAML syntax errors, already placed; when non-empty the data is not trustworthy. */
  syntaxProblems: Problem[];
  /** Keys given twice in one map, already placed. */
  duplicateProblems: Problem[];
  /** Places a problem found by path in the data at its key or value in the file. */
  place(problem: PathProblem): Problem;
}

/** YAML errors as operators can act on them: replacements, or advice added to the parser's words. */
const SYNTAX_MESSAGES: Record<string, string> = {
  MULTIPLE_DOCS: "the inventory must be a single YAML document; remove the '---' separator",
  TAB_AS_INDENT: 'tabs are not allowed as indentation in YAML; indent with spaces',
};
const SYNTAX_ADVICE: Record<string, string> = {
  UNEXPECTED_TOKEN: 'quote values that contain YAML punctuation ({ } [ ] , : #)',
  BLOCK_AS_IMPLICIT_KEY: "check the indentation, and quote values that contain ': '",
  BAD_INDENT: 'check the indentation',
};

function syntaxMessage(code: string, message: string): string {
  const replaced = SYNTAX_MESSAGES[code];
  if (replaced) return replaced;
  const advice = SYNTAX_ADVICE[code];
  return `YAML syntax error: ${message.replace(/\s+/g, ' ').trim()}${advice ? `; ${advice}` : ''}`;
}

function keyText(pair: Pair): string {
  const key = pair.key;
  return isScalar(key) ? String(key.value) : String(key);
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  // An empty value (`key:` with nothing after it) has an empty range: it has no place of its own.
  return range && range[1] > range[0] ? range[0] : undefined;
}

/**
 * The document's maps as objects without a prototype: a key such as `__proto__` or `constructor` is then
 * an ordinary own key (yaml defines `__proto__` as an own property, but a plain object's lookups and
 * assignments of it still reach Object.prototype).
 */
function withoutPrototypes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPrototypes);
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) {
    return value;
  }
  const map: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(value)) map[key] = withoutPrototypes((value as Record<string, unknown>)[key]);
  return map;
}

export function parseYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const at = (offset: number | undefined, message: string): Problem => {
    const pos = lineCounter.linePos(offset ?? 0);
    return { line: pos.line, column: pos.col, message };
  };

  // Only the first error: the parser follows a real error with echoes of it.
  const first = doc.errors[0];
  const syntaxProblems = first ? [at(first.pos[0], syntaxMessage(first.code, first.message))] : [];
  let data: unknown = null;
  if (!first) {
    try {
      data = withoutPrototypes(doc.toJS());
    } catch (err) {
      // e.g. an alias (*name) without its anchor (&name).
      let alias: Node | undefined;
      visit(doc, {
        Alias: (_key, node) => {
          alias ??= node;
          return visit.BREAK;
        },
      });
      syntaxProblems.push(at(rangeStart(alias), `YAML error: ${(err as Error).message}`));
    }
  }

  const duplicateProblems: Problem[] = [];
  const walk = (node: unknown, path: PathSegment[]): void => {
    if (isMap(node)) {
      const seen = new Map<string, Pair>();
      for (const pair of node.items) {
        const name = keyText(pair);
        const first = seen.get(name);
        if (first) {
          const firstLine = lineCounter.linePos(rangeStart(first.key) ?? 0).line;
          const message =
            path.length === 1 && path[0] === 'hosts'
              ? `duplicate host name '${name}' (first defined on line ${firstLine}); member names must be unique`
              : `duplicate key '${name}' in ${path.length ? path.join('.') : 'the inventory'} (first defined on line ${firstLine}); keep one of them`;
          duplicateProblems.push(at(rangeStart(pair.key), message));
        } else {
          seen.set(name, pair);
        }
        walk(pair.value, [...path, name]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        walk(item, [...path, i]);
      });
    }
  };
  walk(doc.contents, []);

  const place = (problem: PathProblem): Problem => {
    let node: unknown = doc.contents;
    let lastPair: Pair | undefined;
    for (const segment of problem.path) {
      let next: unknown;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && keyText(p) === String(segment));
        if (pair) {
          lastPair = pair;
          next = pair.value;
        }
      } else if (isSeq(node) && typeof segment === 'number') {
        next = node.items[segment];
        lastPair = undefined;
      }
      if (next === undefined) {
        // The path ends before the problem (a missing key): point at the key of the map that lacks it.
        return at(rangeStart(lastPair?.key) ?? rangeStart(node) ?? 0, problem.message);
      }
      node = next;
    }
    if (problem.at === 'key' && lastPair) return at(rangeStart(lastPair.key), problem.message);
    return at(rangeStart(node) ?? rangeStart(lastPair?.key) ?? 0, problem.message);
  };

  return { data, syntaxProblems, duplicateProblems, place };
}

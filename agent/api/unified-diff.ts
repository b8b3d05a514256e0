/**
 * The unified diff both sides print (the agent in `fileWrite` replies, the controller in its plans):
 * part of the contract so that the two always agree on the format. Pure, imports nothing.
 */

/** One line of an edit script: kept (' '), removed ('-') or added ('+'). */
interface Edit {
  op: ' ' | '-' | '+';
  line: string;
  /** 0-based index in the old (for ' ' and '-') and new (for ' ' and '+') text. */
  oldIndex: number;
  newIndex: number;
}

/** Past this many LCS cells the diff is "everything removed, everything added" (still correct, just coarse). */
const MAX_CELLS = 4_000_000;

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** Line edits turning `a` into `b`, from a longest common subsequence table. */
function editScript(a: string[], b: string[]): Edit[] {
  const n = a.length;
  const m = b.length;
  if (n * m > MAX_CELLS) {
    return [
      ...a.map((line, i): Edit => ({ op: '-', line, oldIndex: i, newIndex: 0 })),
      ...b.map((line, j): Edit => ({ op: '+', line, oldIndex: n, newIndex: j })),
    ];
  }
  // lcs[i][j] = LCS length of a[i..] and b[j..], stored row-major.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number) => lcs[i * (m + 1) + j] ?? 0;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
    }
  }
  const edits: Edit[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      edits.push({ op: ' ', line: a[i] ?? '', oldIndex: i++, newIndex: j++ });
    } else if (i < n && (j === m || at(i + 1, j) >= at(i, j + 1))) {
      edits.push({ op: '-', line: a[i] ?? '', oldIndex: i++, newIndex: j });
    } else {
      edits.push({ op: '+', line: b[j] ?? '', oldIndex: i, newIndex: j++ });
    }
  }
  return edits;
}

/** Changed edits with up to `context` kept lines around them, joined when their contexts touch. */
function hunks(edits: Edit[], context: number): Edit[][] {
  const changes = edits.flatMap((e, k) => (e.op === ' ' ? [] : [k]));
  const out: Edit[][] = [];
  let first = changes[0];
  for (let c = 0; c < changes.length; c++) {
    const k = changes[c] ?? 0;
    const next = changes[c + 1];
    if (first !== undefined && (next === undefined || next - k - 1 > 2 * context)) {
      out.push(edits.slice(Math.max(0, first - context), Math.min(edits.length, k + context + 1)));
      first = next;
    }
  }
  return out;
}

function range(start: number, count: number): string {
  return count === 1 ? `${start}` : `${start},${count}`;
}

/**
 * A unified diff (`diff -u` style, 3 lines of context) of `oldText` → `newText`, headed with
 * `label` for both sides; "" when the texts are equal. `oldText` undefined: the file does not
 * exist yet (`--- /dev/null`, everything added).
 */
export function unifiedDiff(
  oldText: string | undefined,
  newText: string,
  label: string,
  context = 3,
): string {
  if (oldText === newText) return '';
  const old = oldText ?? '';
  const edits = editScript(splitLines(old), splitLines(newText));
  const lines = [`--- ${oldText === undefined ? '/dev/null' : label}`, `+++ ${label}`];
  for (const hunk of hunks(edits, context)) {
    const first = hunk[0];
    if (!first) continue;
    const oldCount = hunk.filter((e) => e.op !== '+').length;
    const newCount = hunk.filter((e) => e.op !== '-').length;
    const oldStart = oldCount === 0 ? first.oldIndex : first.oldIndex + 1;
    const newStart = newCount === 0 ? first.newIndex : first.newIndex + 1;
    lines.push(`@@ -${range(oldStart, oldCount)} +${range(newStart, newCount)} @@`);
    for (const e of hunk) lines.push(`${e.op}${e.line}`);
  }
  const noNewline = (text: string) => text !== '' && !text.endsWith('\n');
  if (noNewline(old) || noNewline(newText)) lines.push('\\ (no newline at end of file)');
  return `${lines.join('\n')}\n`;
}

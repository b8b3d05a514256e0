/** Where systemd's env-file parser is in the text (one state per kind of character run). */
type State =
  | 'pre-key'
  | 'key'
  | 'pre-value'
  | 'value'
  | 'value-escape'
  | 'single'
  | 'double'
  | 'double-escape'
  | 'comment';

/**
 * The variables of an environment file exactly as systemd's `EnvironmentFile=` reads it, so that etcd
 * gets the same settings under the agent's own supervisor as under systemd. The rules (systemd's
 * env-file.c state machine, systemd.exec(5); checked against systemd v254 and later):
 *
 * - The file is UTF-8 text. A NUL byte anywhere makes systemd refuse the whole file (EBADMSG), and so
 *   does a key or value that is not valid UTF-8 (systemd's check also refuses the noncharacters U+FDD0…
 *   U+FDEF and U+xFFFE/U+xFFFF). Both throw here: the unit would not start.
 * - Newlines are LF or CR. Whitespace is space, tab, LF, CR.
 * - Before a key, whitespace (blank lines included) is skipped. A `#` or `;` there starts a comment that
 *   runs to the next newline; a backslash at its end does not continue it (since v254).
 *   `#` or `;` anywhere else is an ordinary character.
 * - The key runs to the first `=`; whitespace after the key is dropped. A line without `=` is ignored.
 * - After `=`, whitespace is skipped; then the value is any mix of:
 *   - `'...'`: every character up to the next `'` verbatim (no escapes, may span lines);
 *   - `"..."`: up to the next unescaped `"` (may span lines); backslash before `"`, `\`, `` ` `` or `$`
 *     gives that character, backslash-newline is dropped (a line continuation), and a backslash before
 *     anything else is kept with it (`\n` stays backslash-n, as in a POSIX shell);
 *   - unquoted text up to the newline: a backslash gives the next character as is (`\\` is `\`, `\"` is
 *     `"`), backslash-newline is a line continuation, quotes after the first character are literal,
 *     and trailing unescaped whitespace is dropped.
 *   After a closing quote, whitespace is skipped and what follows is joined on: `"a" 'b'` is `ab`.
 * - `export` is not special: `export KEY=v` has the key `export KEY`. Keys that are not variable names
 *   (letters, digits, `_`, not starting with a digit) are ignored with a log line, as systemd does.
 * - A later assignment to the same key wins. Nothing is expanded (`$X` stays `$X`).
 *
 * `onIgnored` hears of what systemd silently drops or only logs: lines without `=` and invalid names.
 */
export function parseEnvFile(
  input: string | Uint8Array,
  onIgnored: (line: number, why: string) => void = () => {},
): Record<string, string> {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input);
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    throw new Error(`line ${lineAt(bytes, nul)}: a NUL byte (systemd refuses the whole file)`);
  }
  // One character per byte: the syntax is ASCII, and UTF-8's multi-byte sequences never contain ASCII bytes.
  const text = bytes.toString('latin1');
  const env: Record<string, string> = Object.create(null);

  let state: State = 'pre-key';
  let key = '';
  let value = '';
  let keyLine = 1;
  let line = 1;
  /** Where the trailing whitespace of the key (or the unquoted value) starts, or -1. */
  let keyWs = -1;
  let valueWs = -1;

  const push = (chompValue: boolean) => {
    const k = decode(keyWs >= 0 ? key.slice(0, keyWs) : key, keyLine, 'key');
    const v = decode(chompValue && valueWs >= 0 ? value.slice(0, valueWs) : value, keyLine, 'value');
    if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) env[k] = v;
    else onIgnored(keyLine, `'${k}' is not a variable name: the assignment is ignored`);
    key = '';
    value = '';
  };

  for (const c of text) {
    const newline = c === '\n' || c === '\r';
    const space = newline || c === ' ' || c === '\t';
    switch (state) {
      case 'pre-key':
        if (c === '#' || c === ';') state = 'comment';
        else if (!space) {
          state = 'key';
          keyLine = line;
          keyWs = -1;
          key = c;
        }
        break;
      case 'key':
        if (newline) {
          state = 'pre-key';
          onIgnored(keyLine, "a line without '=' is ignored");
          key = '';
        } else if (c === '=') {
          state = 'pre-value';
          valueWs = -1;
        } else {
          keyWs = trailingSpace(keyWs, key.length, space);
          key += c;
        }
        break;
      case 'pre-value':
        if (newline) {
          state = 'pre-key';
          push(false);
        } else if (c === "'") state = 'single';
        else if (c === '"') state = 'double';
        else if (c === '\\') state = 'value-escape';
        else if (!space) {
          state = 'value';
          value += c;
        }
        break;
      case 'value':
        if (newline) {
          state = 'pre-key';
          push(true);
        } else if (c === '\\') {
          state = 'value-escape';
          valueWs = -1;
        } else {
          valueWs = trailingSpace(valueWs, value.length, space);
          value += c;
        }
        break;
      case 'value-escape':
        state = 'value';
        if (!newline) value += c;
        break;
      case 'single':
        if (c === "'") state = 'pre-value';
        else value += c;
        break;
      case 'double':
        if (c === '"') state = 'pre-value';
        else if (c === '\\') state = 'double-escape';
        else value += c;
        break;
      case 'double-escape':
        state = 'double';
        if ('"\\`$'.includes(c)) value += c;
        else if (c !== '\n') value += `\\${c}`;
        break;
      case 'comment':
        if (newline) state = 'pre-key';
        break;
    }
    if (c === '\n') line++;
  }
  if (state === 'key') onIgnored(keyLine, "a line without '=' is ignored");
  else if (state !== 'pre-key' && state !== 'comment') push(state === 'value');
  return env;
}

/** Where a run of trailing whitespace starts (-1: none) once a character is added at `length`. */
function trailingSpace(start: number, length: number, space: boolean): number {
  if (!space) return -1;
  return start < 0 ? length : start;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A key or value's bytes (one per character) as text, or an error where systemd would refuse the file. */
function decode(latin1: string, line: number, what: string): string {
  let text: string;
  try {
    text = UTF8.decode(Buffer.from(latin1, 'latin1'));
  } catch {
    throw new Error(`line ${line}: the ${what} is not valid UTF-8 (systemd refuses the whole file)`);
  }
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) {
      const hex = cp.toString(16).toUpperCase().padStart(4, '0');
      throw new Error(
        `line ${line}: the ${what} has the noncharacter U+${hex} (systemd refuses the whole file)`,
      );
    }
  }
  return text;
}

function lineAt(bytes: Buffer, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

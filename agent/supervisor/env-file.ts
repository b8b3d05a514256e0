/** Unquote a double-quoted value: backslash escapes the next character (as systemd's EnvironmentFile). */
function unquoteDouble(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\' && i + 1 < body.length) {
      const next = body[++i];
      if (next !== '\n') out += next === 'n' ? '\n' : next;
    } else {
      out += c;
    }
  }
  return out;
}

/** Strip one pair of matching quotes from a whole value and undo the escapes inside. */
function parseValue(raw: string): string {
  const value = raw.trim();
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
    return unquoteDouble(value.slice(1, -1));
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1);
  return value;
}

/**
 * The variables of an environment file as systemd's `EnvironmentFile=` reads it: `KEY=value`
 * lines, values optionally single- or double-quoted (backslash escapes inside double quotes),
 * blank lines and lines starting with `#` or `;` ignored. A later line wins.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(trimmed);
    if (!m?.[1]) throw new Error(`not a KEY=value line: ${trimmed.slice(0, 80)}`);
    env[m[1]] = parseValue(m[2] ?? '');
  }
  return env;
}

/**
 * What text may reach etcd's settings: the rules the inventory schema applies and render/settings.ts
 * enforces again when it writes the environment file. A leaf module (render/ and inventory/ share it).
 */

const NAMES: Record<number, string> = {
  0: 'a NUL',
  9: 'a tab',
  10: 'a line break',
  13: 'a carriage return',
  32: 'a space',
};

/** "U+000A" */
function codePoint(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** "a line break (U+000A)", "the character U+200B": how a message names one character. */
export function describeCharacter(ch: string): string {
  const cp = ch.codePointAt(0)!;
  const hex = codePoint(ch);
  const name = NAMES[cp];
  if (name) return `${name} (${hex})`;
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return `the control character ${hex}`;
  if (cp >= 0xd800 && cp <= 0xdfff) return `half a surrogate pair (${hex}), not a character`;
  if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) return `the noncharacter ${hex}`;
  return `the character ${hex}`;
}

/**
 * Characters that cannot travel through one line of a systemd environment file to etcd unchanged: control
 * characters (C0, DEL, C1: a line break makes a line of its own, NUL makes systemd refuse the file and
 * spawn throw), lone surrogates (written as U+FFFD) and Unicode noncharacters (systemd refuses the file).
 */
export function isUnsafeCharacter(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  return (
    cp < 0x20 ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0xd800 && cp <= 0xdfff) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe
  );
}

/** The first unsafe character of `value` (see isUnsafeCharacter), if any. */
export function unsafeCharacter(value: string): string | undefined {
  for (const ch of value) if (isUnsafeCharacter(ch)) return ch;
  return undefined;
}

/** Not printable: unsafe, or another Unicode "other" (format, private use, unassigned) character. */
function isUnprintable(ch: string): boolean {
  return isUnsafeCharacter(ch) || /^\p{C}$/u.test(ch);
}

function isWhitespace(ch: string): boolean {
  return /^[\s\p{Z}]$/u.test(ch);
}

function describeWhitespace(ch: string): string {
  return ch === ' ' ? describeCharacter(ch) : `whitespace (${codePoint(ch)})`;
}

export const TOKEN_MAX_BYTES = 128;

/** Why etcd's --initial-cluster-token cannot be this (`which …`), or undefined: one word of printable text. */
export function tokenProblem(token: string): string | undefined {
  for (const ch of token) {
    if (isUnprintable(ch)) return `has ${describeCharacter(ch)}`;
    if (isWhitespace(ch)) return `has ${describeWhitespace(ch)}`;
    if (`'"\``.includes(ch)) return `has a quote (${ch})`;
  }
  const bytes = Buffer.byteLength(token);
  if (bytes > TOKEN_MAX_BYTES) return `is ${bytes} bytes long`;
  return undefined;
}

/** Why an etcd.flags string cannot be written as this setting (`which …`), or undefined. */
export function flagTextProblem(value: string): string | undefined {
  const ch = unsafeCharacter(value);
  return ch === undefined ? undefined : `has ${describeCharacter(ch)}`;
}

/** Folders a data dir must not be: etcd would fill them, and moving a data dir aside would move them. */
const SYSTEM_DIRS: ReadonlySet<string> = new Set([
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib64',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/sys',
  '/tmp',
  '/usr',
  '/var',
  '/var/lib',
]);

/**
 * Why this cannot be a data dir (`which …`), or undefined: an absolute, normalised path of printable
 * characters that is not a system folder. `{name}` is an ordinary part here: callers check each expansion.
 */
export function dataDirProblem(path: string): string | undefined {
  for (const ch of path) {
    if (isUnprintable(ch)) return `has ${describeCharacter(ch)}`;
    if (ch !== ' ' && isWhitespace(ch)) return `has ${describeWhitespace(ch)}`;
  }
  if (!path.startsWith('/')) return 'is not absolute';
  if (path === '/') return 'is the root folder';
  if (path.includes('//')) return "has '//'";
  if (path.endsWith('/')) return "ends in '/'";
  const dots = path.split('/').find((part) => part === '.' || part === '..');
  if (dots !== undefined) return `has a '${dots}' part`;
  if (SYSTEM_DIRS.has(path)) return 'is a system folder';
  return undefined;
}

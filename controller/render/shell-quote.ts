/**
 * Quoting for POSIX sh: the one place tskv turns words into shell text (rendered etcd command lines,
 * commands run over SSH, commands suggested to the operator). A leaf, so connect/ and render/ can share it.
 */

/** One word for POSIX sh: plain when safe, else single-quoted with embedded quotes escaped. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Joins words into one command line, each quoted. */
export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

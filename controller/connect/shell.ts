/** Quoting for POSIX sh, and how commands are run as root. */

/** One word for POSIX sh: plain when safe, else single-quoted with embedded quotes escaped. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Joins words into one command line, each quoted. */
export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

/** The command as the SSH user runs it: through `sudo -n sh -c` when root is needed and the user is not root. */
export function asRoot(command: string, viaSudo: boolean): string {
  return viaSudo ? `sudo -n sh -c ${shellQuote(command)}` : command;
}

/** OpenSSH ProxyCommand tokens: %h host, %p port, %r remote user, %% a literal percent. */
export function substituteProxyCommand(template: string, host: string, port: number, user: string): string {
  return template.replace(/%([hpr%])/g, (_m, token: string) => {
    if (token === 'h') return host;
    if (token === 'p') return String(port);
    if (token === 'r') return user;
    return '%';
  });
}

/** OpenSSH's `~` and `%` tokens in IdentityFile, UserKnownHostsFile and IdentityAgent (ssh.c's percent_expand). */
import { join } from 'node:path';

export interface TokenValues {
  /** %h: the host name (after HostName). */
  host: string;
  /** %n: the name as given. */
  original: string;
  /** %p */
  port: number;
  /** %r: the remote user. */
  user: string;
  /** %u: the local user. */
  localUser: string;
  /** %d and `~`: the local home folder. */
  home: string;
}

/** Expands `~/` and `%h %n %p %r %u %d %%`; an unknown token is an Error naming it. */
export function expandTokens(text: string, t: TokenValues): string {
  const tilde = text === '~' ? t.home : text.startsWith('~/') ? join(t.home, text.slice(2)) : text;
  return tilde.replace(/%(.)/g, (_all, c: string) => {
    switch (c) {
      case '%':
        return '%';
      case 'h':
        return t.host;
      case 'n':
        return t.original;
      case 'p':
        return String(t.port);
      case 'r':
        return t.user;
      case 'u':
        return t.localUser;
      case 'd':
        return t.home;
      default:
        throw new Error(`unknown token %${c}`);
    }
  });
}

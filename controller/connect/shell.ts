/** How commands are run as root, and OpenSSH's ProxyCommand tokens (quoting itself is render/shell-quote.ts). */
import { shellQuote } from '../render/shell-quote.ts';

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

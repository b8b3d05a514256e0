/**
 * OpenSSH's ProxyJump syntax: `[user@]host[:port][,next...]` (also `ssh://[user@]host[:port]` and
 * `[v6address]:port`), or `none`. Used to validate the inventory and by the connector.
 */

export interface JumpHop {
  /** Undefined: the inventory's ssh.user. */
  user: string | undefined;
  host: string;
  /** Undefined: 22. */
  port: number | undefined;
}

const USER = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const V6 = /^[0-9A-Fa-f:.]+$/;

type Parsed = { hop: JumpHop } | { problem: string };

function parseHop(text: string): Parsed {
  let rest = text.startsWith('ssh://') ? text.slice('ssh://'.length) : text;
  if (rest === '') return { problem: 'is empty' };
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (!USER.test(user)) return { problem: `has a bad user name '${user}' (letters, digits, _ . -)` };
  }
  let host: string;
  let portText: string | undefined;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return { problem: "has a '[' without ']'" };
    host = rest.slice(1, close);
    const after = rest.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return { problem: `has '${after}' after ']'` };
    portText = after === '' ? undefined : after.slice(1);
    if (!V6.test(host) || !host.includes(':'))
      return { problem: `has '${host}' in brackets, not an IPv6 address` };
  } else {
    const colon = rest.indexOf(':');
    if (colon >= 0 && rest.indexOf(':', colon + 1) >= 0) {
      return { problem: 'has an IPv6 address without brackets (write [addr]:port)' };
    }
    host = colon >= 0 ? rest.slice(0, colon) : rest;
    portText = colon >= 0 ? rest.slice(colon + 1) : undefined;
    if (host === '') return { problem: 'has no host' };
    if (!HOST.test(host)) return { problem: `has a bad host name '${host}'` };
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = /^[0-9]{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
    if (!(port >= 1 && port <= 65535)) return { problem: `has a bad port '${portText}' (1 to 65535)` };
  }
  return { hop: { user, host, port } };
}

/** The hops in order (first: the one tskv connects to), [] for `none`, or a problem naming the hop. */
export function parseProxyJump(text: string): { hops: JumpHop[] } | { problem: string } {
  if (text === 'none') return { hops: [] };
  const parts = text.split(',');
  const hops: JumpHop[] = [];
  for (const [i, part] of parts.entries()) {
    const parsed = parseHop(part);
    if ('problem' in parsed) {
      const which = parts.length > 1 ? `hop ${i + 1} ('${part}')` : `'${part}'`;
      return { problem: `${which} ${parsed.problem}` };
    }
    hops.push(parsed.hop);
  }
  return { hops };
}

/** Why a ProxyJump text is wrong, or undefined when it is right. */
export function proxyJumpProblem(text: string): string | undefined {
  const parsed = parseProxyJump(text);
  return 'problem' in parsed ? parsed.problem : undefined;
}

/** `host:port` with IPv6 in brackets, as error messages name a hop. */
export function hopEndpoint(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

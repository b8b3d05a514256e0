/** The ssh options in ansible_ssh_common_args / ansible_ssh_extra_args that tskv's ssh settings can carry. */
import { shellWords } from './ansible-ini.ts';

export interface SshArgs {
  proxyCommand?: string;
  proxyJump?: string;
  knownHosts?: string;
  hostKeyPolicy?: 'strict' | 'accept-new';
  connectTimeout?: number;
  port?: number;
  user?: string;
  identityFile?: string;
  /** Options tskv does not carry, as written. */
  dropped: string[];
}

function option(out: SshArgs, text: string): void {
  const m = /^([A-Za-z]+)\s*(?:=\s*|\s+)(.*)$/s.exec(text.trim());
  if (!m) {
    out.dropped.push(`-o ${text}`);
    return;
  }
  const [, key, value] = m as unknown as [string, string, string];
  switch (key.toLowerCase()) {
    case 'proxycommand':
      out.proxyCommand = value;
      return;
    case 'proxyjump':
      out.proxyJump = value;
      return;
    case 'userknownhostsfile':
      out.knownHosts = value;
      return;
    case 'stricthostkeychecking':
      if (value === 'yes') out.hostKeyPolicy = 'strict';
      else if (value === 'accept-new') out.hostKeyPolicy = 'accept-new';
      else out.dropped.push(`-o ${text} (tskv always verifies host keys)`);
      return;
    case 'connecttimeout':
      if (/^[0-9]+$/.test(value) && Number(value) > 0) out.connectTimeout = Number(value);
      else out.dropped.push(`-o ${text}`);
      return;
    case 'port':
      out.port = Number(value);
      return;
    case 'user':
      out.user = value;
      return;
    case 'identityfile':
      out.identityFile = value;
      return;
    default:
      out.dropped.push(`-o ${text}`);
  }
}

export function parseSshArgs(text: string): SshArgs | { problem: string } {
  const split = shellWords(text);
  if ('problem' in split) return { problem: split.problem };
  const out: SshArgs = { dropped: [] };
  const words = split.words;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const takes = /^-([oJpli])(.*)$/.exec(w);
    if (!takes) {
      out.dropped.push(w);
      continue;
    }
    const [, flag, attached] = takes as unknown as [string, string, string];
    const value = attached !== '' ? attached : words[++i];
    if (value === undefined) return { problem: `${w} needs a value` };
    if (flag === 'o') option(out, value);
    else if (flag === 'J') out.proxyJump = value;
    else if (flag === 'p') out.port = Number(value);
    else if (flag === 'l') out.user = value;
    else out.identityFile = value;
  }
  return out;
}

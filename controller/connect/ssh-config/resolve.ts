/**
 * Which ssh_config settings apply to a host, and where each came from: OpenSSH's first-obtained-value-wins
 * over Host and Match blocks (readconf.c), for the options tskv uses.
 */
import type { ConfigPlace, Directive, ParsedConfig } from './parse.ts';
import { SshConfigError } from './parse.ts';

export interface Sourced<T> {
  value: T;
  from: ConfigPlace;
}

/** The effective values, as OpenSSH holds them before connecting (IdentityFile still unexpanded, like `ssh -G`). */
export interface SshConfigValues {
  hostName?: Sourced<string>;
  user?: Sourced<string>;
  port?: Sourced<number>;
  identityFiles: Sourced<string>[];
  identitiesOnly?: Sourced<boolean>;
  identityAgent?: Sourced<string>;
  /** ProxyJump and ProxyCommand: the first one set wins, as in OpenSSH ('none' disables both). */
  proxyJump?: Sourced<string>;
  proxyCommand?: Sourced<string>;
  userKnownHostsFiles?: Sourced<string[]>;
  strictHostKeyChecking?: Sourced<'yes' | 'no' | 'ask' | 'accept-new'>;
  connectTimeout?: Sourced<number>;
  serverAliveInterval?: Sourced<number>;
  hostKeyAlias?: Sourced<string>;
}

export interface ResolveResult {
  values: SshConfigValues;
  /** Lines skipped with a reason (Match criteria tskv does not evaluate, unknown options), as `file:line: ...`. */
  warnings: string[];
}

export interface ResolveContext {
  /** The local user name (OpenSSH's default remote user and Match localuser). */
  localUser: string;
}

/** OpenSSH's match_pattern: `*` any run, `?` one character. Host names compare case-insensitively. */
export function matchPattern(text: string, pattern: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    's',
  );
  return re.test(text);
}

/** A list of patterns, some negated with `!`: no negated one may match, and one plain one must (Host is case-sensitive, Match host lower-cases the patterns). */
export function matchPatternList(text: string, patterns: string[], lowerCase: boolean): boolean {
  const subject = text;
  let matched = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = lowerCase ? raw.slice(negated ? 1 : 0).toLowerCase() : raw.slice(negated ? 1 : 0);
    if (matchPattern(subject, pattern)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** Options OpenSSH knows that tskv has no use for: read without a word. Anything else gets a warning. */
const IGNORED = new Set(
  `addkeystoagent addressfamily batchmode bindaddress bindinterface canonicaldomains canonicalizefallbacklocal
canonicalizehostname canonicalizemaxdots canonicalizepermittedcnames casignaturealgorithms certificatefile checkhostip
ciphers clearallforwardings compression connectionattempts controlmaster controlpath controlpersist dynamicforward
enableescapecommandline enablesshkeysign escapechar exitonforwardfailure fingerprinthash forkafterauthentication
forwardagent forwardx11 forwardx11timeout forwardx11trusted gatewayports globalknownhostsfile gssapiauthentication
gssapidelegatecredentials hashknownhosts hostbasedacceptedalgorithms hostbasedauthentication hostkeyalgorithms
ignoreunknown ipqos kbdinteractiveauthentication kbdinteractivedevices kexalgorithms knownhostscommand localcommand
localforward loglevel logverbose macs nohostauthenticationforlocalhost numberofpasswordprompts passwordauthentication
permitlocalcommand permitremoteopen pkcs11provider preferredauthentications proxyusefdpass pubkeyacceptedalgorithms
pubkeyacceptedkeytypes pubkeyauthentication rekeylimit remotecommand remoteforward requesttty requiredrsasize
revokedhostkeys securitykeyprovider sendenv serveralivecountmax sessiontype setenv stdinnull streamlocalbindmask
streamlocalbindunlink syslogfacility tcpkeepalive tunnel tunneldevice updatehostkeys usekeychain userknownhostsfile2
verifyhostkeydns visualhostkey xauthlocation`.split(/\s+/),
);

const YES_NO: Record<string, boolean> = { yes: true, true: true, no: false, false: false };
const STRICT: Record<string, 'yes' | 'no' | 'ask' | 'accept-new'> = {
  yes: 'yes',
  true: 'yes',
  no: 'no',
  off: 'no',
  false: 'no',
  ask: 'ask',
  'accept-new': 'accept-new',
};

function oneArg(d: Directive): string {
  if (d.args.length === 0) throw new SshConfigError(d, `${d.keyword} needs a value`);
  return d.args[0]!;
}

function seconds(d: Directive, allowNone: boolean): number {
  const text = oneArg(d);
  if (allowNone && text.toLowerCase() === 'none') return 0;
  const m = /^(\d+)([smhdwSMHDW]?)$/.exec(text);
  if (!m) throw new SshConfigError(d, `${d.keyword} must be a number of seconds, not '${text}'`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]!.toLowerCase()]!;
  return Number(m[1]) * unit;
}

/** `%h` in HostName is the name given on the command line; `%%` a percent sign. */
function expandHostName(text: string, original: string, d: Directive): string {
  return text.replace(/%(.)/g, (_all, c: string) => {
    if (c === '%') return '%';
    if (c === 'h') return original;
    throw new SshConfigError(d, `unknown token %${c} in HostName`);
  });
}

class Resolver {
  readonly values: SshConfigValues = { identityFiles: [] };
  readonly warnings: string[] = [];
  /** ProxyJump or ProxyCommand has been obtained (even as 'none'). */
  private proxyDone = false;

  private readonly original: string;
  private readonly context: ResolveContext;
  constructor(original: string, context: ResolveContext) {
    this.original = original;
    this.context = context;
  }

  run(config: ParsedConfig, active: boolean, neverMatch: boolean): void {
    let on = active && !neverMatch;
    for (const entry of config.entries) {
      if (entry.kind === 'include') {
        for (const file of entry.files) this.run(file, on, !on);
        continue;
      }
      if (entry.keyword === 'host') {
        if (entry.args.length === 0) throw new SshConfigError(entry, 'Host needs at least one pattern');
        on = !neverMatch && matchPatternList(this.original, entry.args, false);
      } else if (entry.keyword === 'match') {
        const matched = this.match(entry);
        on = !neverMatch && matched;
      } else if (on) this.apply(entry);
      else this.check(entry);
    }
  }

  /** The host name as it stands (HostName so far, else the name given). */
  private currentHost(): string {
    return this.values.hostName?.value ?? this.original;
  }

  private match(d: Directive): boolean {
    if (d.args.length === 0) throw new SshConfigError(d, 'Match needs criteria');
    let result = true;
    const args = [...d.args];
    while (args.length > 0) {
      let criterion = args.shift()!.toLowerCase();
      const negate = criterion.startsWith('!');
      if (negate) criterion = criterion.slice(1);
      if (criterion === 'all') {
        if (result !== false) result = !negate;
        continue;
      }
      if (criterion === 'canonical' || criterion === 'final') {
        this.warnings.push(
          `${d.file}:${d.line}: warning: Match ${criterion} is not evaluated by tskv (treated as not matching)`,
        );
        result = false;
        continue;
      }
      const value = args.shift();
      if (value === undefined) throw new SshConfigError(d, `Match ${criterion} needs an argument`);
      const list = value.split(',');
      let hit: boolean;
      if (criterion === 'host') hit = matchPatternList(this.currentHost(), list, true);
      else if (criterion === 'originalhost') hit = matchPatternList(this.original, list, true);
      else if (criterion === 'user')
        hit = matchPatternList(this.values.user?.value ?? this.context.localUser, list, false);
      else if (criterion === 'localuser') hit = matchPatternList(this.context.localUser, list, false);
      else {
        this.warnings.push(
          `${d.file}:${d.line}: warning: Match ${criterion} is not evaluated by tskv (only host, originalhost, user, localuser, all): the block is treated as not matching`,
        );
        hit = negate; // so that the negation below makes it false
      }
      if (negate ? hit : !hit) result = false;
    }
    return result;
  }

  /** An inactive line is still read: values OpenSSH would refuse are errors wherever they are. */
  private check(d: Directive): void {
    const saved = { ...this.values, identityFiles: [...this.values.identityFiles] };
    const savedProxy = this.proxyDone;
    this.apply(d);
    Object.assign(this.values, saved);
    for (const key of Object.keys(this.values) as (keyof SshConfigValues)[]) {
      if (!(key in saved)) delete this.values[key];
    }
    this.proxyDone = savedProxy;
  }

  private first<K extends keyof SshConfigValues>(key: K, value: NonNullable<SshConfigValues[K]>): void {
    if (this.values[key] === undefined) this.values[key] = value;
  }

  private apply(d: Directive): void {
    const from = { file: d.file, line: d.line };
    switch (d.keyword) {
      case 'hostname':
        this.first('hostName', { value: expandHostName(oneArg(d), this.original, d), from });
        return;
      case 'user':
        this.first('user', { value: oneArg(d), from });
        return;
      case 'port': {
        const text = oneArg(d);
        const port = Number(text);
        if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
          throw new SshConfigError(d, `Port must be a number from 1 to 65535, not '${text}'`);
        }
        this.first('port', { value: port, from });
        return;
      }
      case 'identityfile':
        if (oneArg(d).toLowerCase() !== 'none') this.values.identityFiles.push({ value: oneArg(d), from });
        return;
      case 'identitiesonly':
      case 'stricthostkeychecking': {
        const text = oneArg(d).toLowerCase();
        if (d.keyword === 'identitiesonly') {
          if (!(text in YES_NO))
            throw new SshConfigError(d, `IdentitiesOnly must be yes or no, not '${text}'`);
          this.first('identitiesOnly', { value: YES_NO[text]!, from });
        } else {
          if (!(text in STRICT)) {
            throw new SshConfigError(
              d,
              `StrictHostKeyChecking must be yes, accept-new, no or ask, not '${text}'`,
            );
          }
          this.first('strictHostKeyChecking', { value: STRICT[text]!, from });
        }
        return;
      }
      case 'identityagent':
        this.first('identityAgent', { value: oneArg(d), from });
        return;
      case 'proxyjump':
      case 'proxycommand': {
        const value = d.keyword === 'proxyjump' ? oneArg(d) : d.args.join(' ');
        if (value === '') throw new SshConfigError(d, 'ProxyCommand needs a command');
        if (this.proxyDone) return;
        this.proxyDone = true;
        if (value.toLowerCase() === 'none') return;
        if (d.keyword === 'proxyjump') this.values.proxyJump = { value, from };
        else this.values.proxyCommand = { value, from };
        return;
      }
      case 'userknownhostsfile':
        if (d.args.length === 0) throw new SshConfigError(d, 'UserKnownHostsFile needs a file');
        this.first('userKnownHostsFiles', { value: d.args, from });
        return;
      case 'connecttimeout':
        this.first('connectTimeout', { value: seconds(d, true), from });
        return;
      case 'serveraliveinterval':
        this.first('serverAliveInterval', { value: seconds(d, false), from });
        return;
      case 'hostkeyalias':
        this.first('hostKeyAlias', { value: oneArg(d), from });
        return;
      default:
        if (!IGNORED.has(d.keyword)) {
          this.warnings.push(`${d.file}:${d.line}: warning: unknown option '${d.keyword}' ignored`);
        }
    }
  }
}

/** The settings `host` (the name given, as on ssh's command line) gets from a parsed config. */
export function resolveSshConfig(config: ParsedConfig, host: string, context: ResolveContext): ResolveResult {
  // ssh lower-cases the name given on its command line before reading the config.
  const r = new Resolver(host.toLowerCase(), context);
  r.run(config, true, false);
  return { values: r.values, warnings: r.warnings };
}

/** The ssh_config values of one host in the two forms tskv needs: `ssh -G`'s (the oracle in tests) and tskv's own. */
import { statSync } from 'node:fs';
import { type ParsedConfig, parseSshConfigFile, SshConfigError } from './parse.ts';
import { type ResolveContext, resolveSshConfig, type Sourced, type SshConfigValues } from './resolve.ts';
import { expandTokens, type TokenValues } from './tokens.ts';

export interface SshConfigContext extends ResolveContext {
  /** The local home folder (`~`, `%d`, Include paths relative to ~/.ssh). */
  home: string;
}

/** What the config says for a host, tokens expanded, each with its file:line: its known_hosts file is the first one named. */
export interface EffectiveSshConfig extends Omit<SshConfigValues, 'userKnownHostsFiles'> {
  knownHosts?: Sourced<string>;
  warnings: string[];
}

/** OpenSSH's default identities, in its order (what `ssh -G` lists when none is configured). */
const DEFAULT_IDENTITIES = [
  'id_rsa',
  'id_ecdsa',
  'id_ecdsa_sk',
  'id_ed25519',
  'id_ed25519_sk',
  'id_xmss',
  'id_dsa',
];

function tokensOf(values: SshConfigValues, original: string, ctx: SshConfigContext): TokenValues {
  return {
    host: values.hostName?.value ?? original.toLowerCase(),
    original: original.toLowerCase(),
    port: values.port?.value ?? 22,
    user: values.user?.value ?? ctx.localUser,
    localUser: ctx.localUser,
    home: ctx.home,
  };
}

function expand(s: Sourced<string>, t: TokenValues): Sourced<string> {
  try {
    return { value: expandTokens(s.value, t), from: s.from };
  } catch (err) {
    throw new SshConfigError(s.from, (err as Error).message);
  }
}

/** The lines `ssh -G` prints for the options tskv reads (keyword → value), for comparing with OpenSSH. */
export function sshGView(
  values: SshConfigValues,
  original: string,
  ctx: SshConfigContext,
): Record<string, string> {
  const t = tokensOf(values, original, ctx);
  const strict = values.strictHostKeyChecking?.value ?? 'ask';
  const view: Record<string, string> = {
    user: t.user,
    hostname: t.host,
    port: String(t.port),
    identityfile: (values.identityFiles.length > 0
      ? values.identityFiles.map((f) => f.value)
      : DEFAULT_IDENTITIES.map((n) => `~/.ssh/${n}`)
    ).join('\n'),
    identitiesonly: values.identitiesOnly?.value ? 'yes' : 'no',
    userknownhostsfile: (values.userKnownHostsFiles?.value ?? ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'])
      .map((f) => expandTokens(f, t))
      .join(' '),
    stricthostkeychecking: strict === 'yes' ? 'true' : strict === 'no' ? 'false' : strict,
    connecttimeout: values.connectTimeout?.value ? String(values.connectTimeout.value) : 'none',
    serveraliveinterval: String(values.serverAliveInterval?.value ?? 0),
  };
  if (values.identityAgent) view['identityagent'] = expandTokens(values.identityAgent.value, t);
  if (values.proxyJump) view['proxyjump'] = values.proxyJump.value;
  if (values.proxyCommand) view['proxycommand'] = values.proxyCommand.value;
  if (values.hostKeyAlias) view['hostkeyalias'] = values.hostKeyAlias.value;
  return view;
}

/** Parsed files by path and version (every host of an inventory reads the same config). */
const parsedCache = new Map<string, ParsedConfig>();

export function parseCached(file: string, home: string): ParsedConfig {
  let version = '';
  try {
    const st = statSync(file);
    version = `${st.mtimeMs}:${st.size}:${st.ino}`;
  } catch {
    // parseSshConfigFile reports it
  }
  const key = `${home}\0${file}\0${version}`;
  let parsed = parsedCache.get(key);
  if (!parsed) {
    parsed = parseSshConfigFile(file, { home });
    parsedCache.set(key, parsed);
  }
  return parsed;
}

/** What the config `file` says for `host` (an ssh_config alias or the host's address). Throws SshConfigError. */
export function sshConfigFor(file: string, host: string, ctx: SshConfigContext): EffectiveSshConfig {
  const { values, warnings } = resolveSshConfig(parseCached(file, ctx.home), host, ctx);
  const t = tokensOf(values, host, ctx);
  const known = values.userKnownHostsFiles;
  const out: EffectiveSshConfig = {
    identityFiles: values.identityFiles.map((f) => expand(f, t)),
    warnings,
  };
  if (known) out.knownHosts = expand({ value: known.value[0]!, from: known.from }, t);
  if (values.identityAgent) out.identityAgent = expand(values.identityAgent, t);
  for (const key of [
    'hostName',
    'user',
    'port',
    'identitiesOnly',
    'proxyJump',
    'proxyCommand',
    'strictHostKeyChecking',
    'connectTimeout',
    'serverAliveInterval',
    'hostKeyAlias',
  ] as const) {
    if (values[key] !== undefined) (out as unknown as Record<string, unknown>)[key] = values[key];
  }
  return out;
}

/**
 * A host's SSH settings: the inventory's per-host `ssh` > the inventory's `ssh` > ssh_config > defaults,
 * each with where it came from (for `tskv ssh-config`).
 */
import { existsSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { type EffectiveSshConfig, SshConfigError, sshConfigFor } from '../connect/ssh-config/index.ts';
import { InputError } from '../errors.ts';
import type { HostKeyPolicy, SshSettings, SshTarget } from './model.ts';
import type { PathSegment } from './problems.ts';
import { hopEndpoint, parseProxyJump } from './proxy-jump.ts';
import type { RawSsh } from './schema.ts';

export const DEFAULT_CONNECT_TIMEOUT_S = 10;

export interface SshContext {
  baseDir: string;
  /** The line of a path in the inventory, for sources. */
  lineOf: (path: PathSegment[]) => number | undefined;
  file: string;
  resolvePath: (path: string, baseDir: string) => string;
  warnings: string[];
}

/** Which ssh_config to read: the inventory's (per host, then global), else ~/.ssh/config when it exists. */
function configFileOf(global: RawSsh, own: RawSsh, ctx: SshContext): string | undefined {
  const named = own.configFile ?? global.configFile;
  if (named === 'none') return undefined;
  if (named !== undefined) return ctx.resolvePath(named, ctx.baseDir);
  const home = join(homedir(), '.ssh', 'config');
  return existsSync(home) ? home : undefined;
}

function fromConfig(file: string | undefined, alias: string, name: string): EffectiveSshConfig | undefined {
  if (file === undefined) return undefined;
  try {
    return sshConfigFor(file, alias, { home: homedir(), localUser: userInfo().username });
  } catch (err) {
    if (!(err instanceof SshConfigError)) throw err;
    throw new InputError(`ssh_config ${err.message} (read for host ${name})`, {
      fix: 'fix the line, or set ssh.configFile: none in the inventory to not read this file',
    });
  }
}

const POLICY: Record<string, HostKeyPolicy> = {
  yes: 'strict',
  ask: 'strict',
  'accept-new': 'accept-new',
  no: 'off',
};

export function sshSettings(
  name: string,
  address: string,
  global: RawSsh,
  own: RawSsh,
  ctx: SshContext,
): SshSettings {
  const settings = resolveSettings(name, address, global, own, ctx, 'host');
  if (settings.proxyJump !== undefined) {
    const hops = jumpHostsOf(settings.proxyJump, settings.sources?.['proxyJump'], global, own, ctx);
    if (hops) settings.jumpHosts = hops;
  }
  return settings;
}

/**
 * Each ProxyJump hop as a host of its own, resolved as OpenSSH resolves it (a fresh `ssh` to the
 * hop's name): the user and port the hop names, else the inventory's settings (they outrank
 * ssh_config for every connection tskv makes), else what ssh_config says for the hop's name (its
 * HostName, User, IdentityFile, ProxyCommand, known_hosts...), else the defaults; never what
 * ssh_config says for the target. Only the first hop goes through a proxy command; a hop's own
 * ProxyJump is not followed (the chain is the target's). Undefined when the ProxyJump does not
 * parse: connecting reports it (connect/jump.ts).
 */
function jumpHostsOf(
  jump: string,
  jumpSource: string | undefined,
  global: RawSsh,
  own: RawSsh,
  ctx: SshContext,
): SshTarget[] | undefined {
  const parsed = parseProxyJump(jump);
  if ('problem' in parsed) return undefined;
  const { port: _gp, proxyJump: _gj, proxyCommand: globalCommand, ...sharedGlobal } = global;
  // A host's own host key policy and known_hosts are that host's: the jump host it shares with
  // others is checked with the inventory's top-level ones (or its ssh_config's).
  const {
    port: _op,
    proxyJump: _oj,
    proxyCommand: ownCommand,
    host: _oh,
    hostKeyPolicy: _ok,
    knownHosts: _kh,
    ...sharedOwn
  } = own;
  return parsed.hops.map((hop, i) => {
    const first = i === 0;
    const hopGlobal: RawSsh = {
      ...sharedGlobal,
      ...(first && globalCommand ? { proxyCommand: globalCommand } : {}),
    };
    const hopOwn: RawSsh = {
      ...sharedOwn,
      ...(first && ownCommand ? { proxyCommand: ownCommand } : {}),
      ...(hop.user ? { user: hop.user } : {}),
      ...(hop.port ? { port: hop.port } : {}),
      host: hop.host,
    };
    const ssh = resolveSettings(
      `jump host ${hop.host}`,
      hop.host,
      hopGlobal,
      hopOwn,
      ctx,
      first ? 'first hop' : 'later hop',
    );
    if (!first) {
      ssh.proxyCommand = undefined;
      ssh.reachedThrough = parsed.hops[i - 1]!.host;
    }
    const named = `proxyJump ${jump}${jumpSource ? ` (${jumpSource})` : ''}`;
    if (ssh.sources && hop.user) ssh.sources['user'] = named;
    if (ssh.sources && hop.port) ssh.sources['port'] = named;
    return { name: `jump host ${hopEndpoint(hop.host, ssh.port)}`, address: hop.host, ssh };
  });
}

function resolveSettings(
  name: string,
  address: string,
  global: RawSsh,
  own: RawSsh,
  ctx: SshContext,
  /** A host of the inventory (its ProxyJump followed), or a jump host of one (first or later). */
  role: 'host' | 'first hop' | 'later hop',
): SshSettings {
  const sources: Record<string, string> = {};
  const cfgFile = configFileOf(global, own, ctx);
  const alias = own.host ?? address;
  const cfg = fromConfig(cfgFile, alias, name);
  if (cfg) for (const w of cfg.warnings) if (!ctx.warnings.includes(w)) ctx.warnings.push(w);

  /** The inventory's value (host, then global) or the config's, or the default; records the source. */
  function pick<T>(
    key: keyof RawSsh,
    setting: string,
    config: { value: T; from: { file: string; line: number } } | undefined,
    fallback: T,
  ): T {
    for (const [raw, path] of [
      [own, ['hosts', name, 'ssh', key]],
      [global, ['ssh', key]],
    ] as const) {
      if (raw[key] !== undefined) {
        const line = ctx.lineOf([...path]);
        sources[setting] = `inventory ${ctx.file}${line ? `:${line}` : ''}`;
        return raw[key] as T;
      }
    }
    if (config !== undefined) {
      sources[setting] = `ssh_config ${config.from.file}:${config.from.line}`;
      return config.value;
    }
    sources[setting] = 'default';
    return fallback;
  }

  // OpenSSH tries every IdentityFile that exists, in order; the inventory's one replaces them.
  const present = cfg?.identityFiles.filter((f) => existsSync(f.value)) ?? [];
  const identity = present[0] ?? cfg?.identityFiles[0];
  const identityFile = pick<string | undefined>('identityFile', 'identityFile', identity, undefined);
  const policyFromConfig = cfg?.strictHostKeyChecking && {
    value: POLICY[cfg.strictHostKeyChecking.value]!,
    from: cfg.strictHostKeyChecking.from,
  };
  const hostKeyPolicy = pick<HostKeyPolicy>('hostKeyPolicy', 'hostKeyPolicy', policyFromConfig, 'strict');
  const unverified = `warning: ${role === 'host' ? 'host ' : ''}${name}: StrictHostKeyChecking no (${sources['hostKeyPolicy']}): its host key is NOT verified; anyone on the path can impersonate it`;
  if (hostKeyPolicy === 'off' && !ctx.warnings.includes(unverified)) ctx.warnings.push(unverified);
  const timeout = pick<number>(
    'connectTimeout',
    'connectTimeout',
    cfg?.connectTimeout,
    DEFAULT_CONNECT_TIMEOUT_S,
  );
  const settings: SshSettings = {
    user: pick('user', 'user', cfg?.user, 'root'),
    port: pick('port', 'port', cfg?.port, 22),
    identityFile: identityFile === undefined ? undefined : ctx.resolvePath(identityFile, ctx.baseDir),
    knownHosts: ctx.resolvePath(
      pick('knownHosts', 'knownHosts', cfg?.knownHosts, '~/.ssh/known_hosts'),
      ctx.baseDir,
    ),
    hostKeyPolicy,
    proxyCommand: pick<string | undefined>('proxyCommand', 'proxyCommand', cfg?.proxyCommand, undefined),
    connectTimeoutMs: Math.round(timeout * 1000),
    sources,
  };
  if (sources['identityFile']?.startsWith('ssh_config ') && present.length > 1) {
    settings.moreIdentityFiles = present.slice(1).map((f) => f.value);
  }
  if (cfg?.identitiesOnly?.value) {
    settings.identitiesOnly = true;
    sources['identitiesOnly'] = `ssh_config ${cfg.identitiesOnly.from.file}:${cfg.identitiesOnly.from.line}`;
  }
  if (cfg?.hostName && cfg.hostName.value !== address) {
    settings.hostName = cfg.hostName.value;
    sources['hostName'] = `ssh_config ${cfg.hostName.from.file}:${cfg.hostName.from.line}`;
  }
  // The inventory's own proxyCommand outranks a ProxyJump from ssh_config; `none` turns jumps off.
  const jump =
    role === 'host'
      ? pick<string | undefined>(
          'proxyJump',
          'proxyJump',
          settings.proxyCommand === undefined ? cfg?.proxyJump : undefined,
          undefined,
        )
      : undefined;
  if (jump !== undefined && jump !== 'none') settings.proxyJump = jump;
  const ownJump = cfg?.proxyJump;
  // OpenSSH follows the first jump host's own ProxyJump (later ones are overridden by -J).
  if (role === 'first hop' && ownJump && ownJump.value !== 'none' && settings.proxyCommand === undefined) {
    const w = `warning: ${name}: its own ProxyJump ${ownJump.value} (ssh_config ${ownJump.from.file}:${ownJump.from.line}) is not followed: tskv reaches a jump host directly or through its ProxyCommand; name the whole chain in the host's ProxyJump (first,second)`;
    if (!ctx.warnings.includes(w)) ctx.warnings.push(w);
  }
  if (cfg?.hostKeyAlias) {
    settings.hostKeyAlias = cfg.hostKeyAlias.value;
    sources['hostKeyAlias'] = `ssh_config ${cfg.hostKeyAlias.from.file}:${cfg.hostKeyAlias.from.line}`;
  }
  if (cfg?.serverAliveInterval && cfg.serverAliveInterval.value > 0) {
    settings.keepaliveIntervalMs = cfg.serverAliveInterval.value * 1000;
    sources['keepaliveInterval'] =
      `ssh_config ${cfg.serverAliveInterval.from.file}:${cfg.serverAliveInterval.from.line}`;
  }
  // IdentityAgent SSH_AUTH_SOCK (or $SSH_AUTH_SOCK) is the default already; another $VAR is not read.
  const agent = cfg?.identityAgent;
  if (agent && !agent.value.startsWith('$') && agent.value !== 'SSH_AUTH_SOCK') {
    settings.identityAgent = agent.value;
    sources['identityAgent'] = `ssh_config ${agent.from.file}:${agent.from.line}`;
  }
  if (cfgFile !== undefined) sources['configFile'] = cfgFile;
  return settings;
}

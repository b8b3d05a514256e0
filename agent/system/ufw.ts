import { canonicalCidr } from '../api/index.ts';
import { parsePortRule, ruleCovers } from './port-rules.ts';
import { runCommand } from './run.ts';
import type { PortRules } from './source-rules.ts';

export interface UfwRule {
  to: string;
  action: string;
  from: string;
}

export interface UfwStatus {
  active: boolean;
  /** Default policy for incoming traffic: "deny", "reject", "allow" (or "" when unknown). */
  defaultIncoming: string;
  rules: UfwRule[];
}

/** Parse `ufw status verbose`. */
export function parseUfwStatus(text: string): UfwStatus {
  const active = /^Status:\s*active/m.test(text);
  const defaultIncoming = /^Default:\s*(\w+)\s*\(incoming\)/m.exec(text)?.[1] ?? '';
  const rules: UfwRule[] = [];
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^--\s+/.test(l.trim()));
  for (const line of start < 0 ? [] : lines.slice(start + 1)) {
    const m = /^(.+?)\s{2,}((?:ALLOW|DENY|REJECT|LIMIT)(?:\s+(?:IN|OUT|FWD))?)\s{2,}(.+)$/.exec(line.trim());
    if (m) rules.push({ to: m[1] ?? '', action: m[2] ?? '', from: (m[3] ?? '').trim() });
  }
  return { active, defaultIncoming, rules };
}

export async function readUfwStatus(): Promise<UfwStatus | null> {
  const r = await runCommand('ufw', ['status', 'verbose']);
  if (r.notFound || r.code !== 0) return null;
  return parseUfwStatus(r.stdout);
}

/** The first ufw rule about this port decides; otherwise the default incoming policy. */
export function judgeUfwPort(
  status: UfwStatus,
  port: number,
  protocol: string,
): { open: boolean | null; detail: string } {
  for (const rule of status.rules) {
    if (/\bOUT\b|\bFWD\b/.test(rule.action)) continue;
    const spec = parsePortRule(rule.to.replace(/\s*\(v6\)$/, '').split(/\s+/)[0] ?? '');
    if (!spec || !ruleCovers(spec, port, protocol)) continue;
    const allowed = /^(ALLOW|LIMIT)/.test(rule.action);
    const anywhere = /^Anywhere/.test(rule.from);
    if (allowed && !anywhere) return { open: null, detail: `ufw allows ${rule.to} only from ${rule.from}` };
    return { open: allowed, detail: `ufw rule: ${rule.to} ${rule.action} ${rule.from}` };
  }
  if (status.defaultIncoming === 'allow') return { open: true, detail: 'ufw default incoming policy allow' };
  return { open: false, detail: `ufw default incoming policy ${status.defaultIncoming || 'deny'}` };
}

/** A rule of tskv's kind for `port`: ALLOW IN to exactly P/tcp, from one network or from anywhere. */
function ownRule(rule: UfwRule, port: number): { source: string | 'anywhere' } | undefined {
  if (!/^ALLOW(\s+IN)?$/.test(rule.action)) return undefined;
  if (rule.to.replace(/\s*\(v6\)$/, '') !== `${port}/tcp`) return undefined;
  if (/^Anywhere(\s*\(v6\))?$/.test(rule.from)) return { source: 'anywhere' };
  const source = canonicalCidr(rule.from);
  return source === undefined ? undefined : { source };
}

/** ufw's rules of tskv's kind from one network for `port`: the network in one spelling, and as ufw shows it. */
export function ufwSourceRules(status: UfwStatus, port: number): { source: string; from: string }[] {
  return status.rules.flatMap((r) => {
    const own = ownRule(r, port);
    return own && own.source !== 'anywhere' ? [{ source: own.source, from: r.from }] : [];
  });
}

/** ufw's rules of tskv's kind for a TCP port, and what else lets every source in. */
export function ufwPortRules(status: UfwStatus, port: number): PortRules {
  const own = status.rules.map((r) => ownRule(r, port));
  const rest = judgeUfwPort({ ...status, rules: status.rules.filter((_, i) => !own[i]) }, port, 'tcp');
  const sources = ufwSourceRules(status, port).map((r) => r.source);
  return {
    openToAll: own.some((o) => o?.source === 'anywhere'),
    sources,
    wider: rest.open === true ? rest.detail : undefined,
  };
}

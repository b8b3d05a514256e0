import { parsePortRule, ruleCovers } from './port-rules.ts';
import { runCommand } from './run.ts';

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

/** A port or port range with a protocol, as firewalls write them ("2380/tcp", "8000-8010/tcp"). */
export interface PortRule {
  from: number;
  to: number;
  protocol: string;
}

/** Parse "2380/tcp", "2379-2380/tcp", "2379:2380/tcp" or a bare "2379" (any protocol). */
export function parsePortRule(text: string): PortRule | null {
  const m = /^(\d+)(?:[-:](\d+))?(?:\/(\w+))?$/.exec(text.trim());
  if (!m) return null;
  const from = Number(m[1]);
  return { from, to: m[2] ? Number(m[2]) : from, protocol: m[3] ?? 'any' };
}

export function ruleCovers(rule: PortRule, port: number, protocol: string): boolean {
  return port >= rule.from && port <= rule.to && (rule.protocol === 'any' || rule.protocol === protocol);
}

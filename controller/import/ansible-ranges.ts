/** Ansible's host patterns with ranges: node[1:3], db-[a:c], web[01:10:2] (one range per pattern here, and more if nested). */

const RANGE = /\[([0-9]+|[a-z]):([0-9]+|[a-z])(?::([0-9]+))?\]/;

/** The host names a pattern stands for; undefined with the reason when the range is malformed. */
export function expandHostPattern(pattern: string): { hosts: string[] } | { problem: string } {
  const m = RANGE.exec(pattern);
  if (!m) {
    if (/[[\]]/.test(pattern))
      return { problem: `'${pattern}' has a malformed range (expected [1:3], [01:10] or [a:c])` };
    return { hosts: [pattern] };
  }
  const [whole, from, to, stepText] = m as unknown as [string, string, string, string | undefined];
  const step = stepText === undefined ? 1 : Number(stepText);
  const head = pattern.slice(0, m.index);
  const tail = pattern.slice(m.index + whole.length);
  const values: string[] = [];
  const numeric = /^[0-9]+$/.test(from) && /^[0-9]+$/.test(to);
  const letters = /^[a-z]$/.test(from) && /^[a-z]$/.test(to);
  if (!numeric && !letters) return { problem: `'${pattern}': a range is numbers ([1:3]) or letters ([a:c])` };
  const start = numeric ? Number(from) : from.charCodeAt(0);
  const end = numeric ? Number(to) : to.charCodeAt(0);
  if (step < 1 || end < start) return { problem: `'${pattern}': the range must count upwards` };
  if ((end - start) / step >= 10_000) return { problem: `'${pattern}': the range has too many hosts` };
  const width = numeric && from.startsWith('0') ? from.length : 0;
  for (let v = start; v <= end; v += step) {
    values.push(numeric ? String(v).padStart(width, '0') : String.fromCharCode(v));
  }
  const hosts: string[] = [];
  for (const v of values) {
    const rest = expandHostPattern(`${head}${v}${tail}`);
    if ('problem' in rest) return rest;
    hosts.push(...rest.hosts);
  }
  return { hosts };
}

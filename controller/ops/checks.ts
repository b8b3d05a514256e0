/** The result of one preflight check on one host, and how results are summed up and printed. */

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  host: string;
  /** ssh, os, disk, ports, firewall, reachability, clock, data-dir */
  check: string;
  status: CheckStatus;
  /** What was observed, in one line. */
  observed: string;
  /** What the operator can do about it (fail and warn only). */
  fix?: string;
  /** A check that `tskv deploy` fixes by itself (e.g. closed firewall ports): deploy plans it instead of failing. */
  fixedByDeploy?: boolean;
}

export function worst(results: CheckResult[]): CheckStatus {
  if (results.some((r) => r.status === 'fail')) return 'fail';
  if (results.some((r) => r.status === 'warn')) return 'warn';
  return 'ok';
}

/** One line per failed or warning check: "FAIL h102 clock: +4.400s ±0.001s ... — fix: ...". */
export function formatCheck(r: CheckResult): string {
  const label = r.status === 'fail' ? 'FAIL' : r.status === 'warn' ? 'WARN' : 'ok  ';
  return `${label} ${r.host} ${r.check}: ${r.observed}${r.fix ? ` — fix: ${r.fix}` : ''}`;
}

/** The result of one preflight check on one host, and how results are summed up and printed. */
import { describeCause, TskvError } from '../errors.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  host: string;
  /** ssh, os, disk, ports, firewall, reachability, clock, data-dir, account */
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

/**
 * A host that failed while being checked, as a failed check: "ssh" when tskv could not get in,
 * "agent" when its agent failed; what it was doing, why, and the fix the failure carries.
 */
export function failedCheck(host: string, err: unknown, doing: string): CheckResult {
  const step = err instanceof TskvError ? (err.step ?? doing) : doing;
  const fix = err instanceof TskvError ? err.fix : undefined;
  return {
    host,
    check: step.startsWith('agent') || doing !== 'connect' ? 'agent' : 'ssh',
    status: 'fail',
    observed: `${step}: ${describeCause(err)}`,
    fix: fix ?? `check that ${host} is up and sshd accepts the inventory's key`,
  };
}

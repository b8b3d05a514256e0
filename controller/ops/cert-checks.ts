/**
 * Preflight's certificate expiry verdicts (tls.mode auto), from the PKI folder's certificates and
 * the ones on each host. Pure: the play reads the files.
 *
 * A member or client certificate under RENEW_WITHIN_DAYS warns and an expired (or unreadable) one
 * fails; both are `fixedByDeploy`, since deploy renews them (ensurePki) and places them with a
 * rolling restart, so an expired member certificate never blocks the deploy that replaces it.
 * The CA is another matter: deploy never replaces it (it refuses an expired one), so an expired
 * CA fails deploy's preflight too.
 */
import { daysLeft, inspectCert, RENEW_WITHIN_DAYS } from '../pki/index.ts';
import type { CheckResult } from './checks.ts';

/** The checks of the PKI folder's own certificates (the CA, tskv's client certificate) carry this host. */
export const CONTROLLER_HOST = 'controller';

export type CertRole = 'ca' | 'client' | 'server' | 'peer';

/** One certificate file: what it is, where it is ("members/h1/server.crt in the PKI"), its text. */
export interface CertSource {
  role: CertRole;
  where: string;
  pem: string;
}

const ROLE_NAMES: Record<CertRole, string> = {
  ca: 'CA certificate',
  client: "tskv's client certificate",
  server: 'server certificate',
  peer: 'peer certificate',
};

const RENEWS: Record<Exclude<CertRole, 'ca'>, string> = {
  client: 'tskv deploy renews it',
  server: 'tskv deploy renews it and restarts the members that use it, one at a time',
  peer: 'tskv deploy renews it and restarts the members that use it, one at a time',
};
const ROTATE_CA = 'the CA must be rotated (tskv certs rotate --ca); tskv deploy does not replace a CA';

/** The same certificate in several places (the PKI's copy on its host) is judged once. */
function distinct(sources: CertSource[]): { role: CertRole; where: string[]; pem: string }[] {
  const byPem = new Map<string, { role: CertRole; where: string[]; pem: string }>();
  for (const s of sources) {
    const key = `${s.role}\n${s.pem.trim()}`;
    const seen = byPem.get(key);
    if (seen) seen.where.push(s.where);
    else byPem.set(key, { role: s.role, where: [s.where], pem: s.pem });
  }
  return [...byPem.values()];
}

/** A check per distinct certificate: ok, warn under RENEW_WITHIN_DAYS, fail when expired or unreadable. */
export function certExpiryChecks(host: string, sources: CertSource[], now: Date = new Date()): CheckResult[] {
  return distinct(sources).map(({ role, where, pem }): CheckResult => {
    const what = `${ROLE_NAMES[role]} (${where.join(', ')})`;
    const isCa = role === 'ca';
    const base = { host, check: 'certificates' };
    const renew = isCa ? undefined : { fix: RENEWS[role], fixedByDeploy: true };
    let notAfter: Date;
    try {
      notAfter = inspectCert(pem).notAfter;
    } catch (err) {
      return {
        ...base,
        status: 'fail',
        observed: `${what} ${(err as Error).message}`,
        ...(renew ?? { fix: 'restore ca.crt from a backup' }),
      };
    }
    const left = daysLeft({ notAfter }, now);
    const on = notAfter.toISOString();
    const fix = renew ?? { fix: ROTATE_CA };
    if (left < 0) return { ...base, status: 'fail', observed: `${what} expired on ${on}`, ...fix };
    if (left < RENEW_WITHIN_DAYS) {
      return { ...base, status: 'warn', observed: `${what} expires in ${left} days, on ${on}`, ...fix };
    }
    return { ...base, status: 'ok', observed: `${what} valid for ${left} more days` };
  });
}

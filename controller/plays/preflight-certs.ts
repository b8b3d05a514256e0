/**
 * Preflight's certificate expiry checks (tls.mode auto): the PKI folder's CA and client
 * certificate (as host CONTROLLER_HOST), and per member the PKI's server and peer certificates
 * with the ones its host holds (what etcd really serves). The verdicts are ops/cert-checks.ts's.
 */
import { join } from 'node:path';
import { describeCause, TskvError } from '../errors.ts';
import type { Inventory } from '../inventory/model.ts';
import { type CertRole, type CertSource, CONTROLLER_HOST, certExpiryChecks } from '../ops/cert-checks.ts';
import { type CheckResult, failedCheck } from '../ops/checks.ts';
import { CA_FILES, CLIENT_FILES, memberFiles, readPkiFile } from '../pki/index.ts';
import { readHostCerts } from './host-certs.ts';
import type { Session } from './session.ts';

/** A certificate of the PKI folder, undefined when it has not been issued yet. */
async function fromPki(inv: Inventory, file: string, role: CertRole): Promise<CertSource | undefined> {
  const pem = await readPkiFile(join(inv.tls.dir, file), 'cert');
  return pem === undefined ? undefined : { role, where: `${file} in ${inv.tls.dir}`, pem };
}

const present = (sources: (CertSource | undefined)[]) => sources.filter((s) => s !== undefined);

/** The failure to read the PKI folder (a symlink, loose modes), as a check of `host`. */
function unreadable(host: string, err: unknown): CheckResult {
  return {
    host,
    check: 'certificates',
    status: 'fail',
    observed: describeCause(err),
    fix:
      err instanceof TskvError && err.fix ? err.fix : `make the PKI folder readable by the user running tskv`,
  };
}

async function controllerChecks(inv: Inventory): Promise<CheckResult[]> {
  try {
    const sources = present(
      await Promise.all([fromPki(inv, CA_FILES.cert, 'ca'), fromPki(inv, CLIENT_FILES.cert, 'client')]),
    );
    if (sources.length === 0) {
      return [
        {
          host: CONTROLLER_HOST,
          check: 'certificates',
          status: 'ok',
          observed: `no PKI in ${inv.tls.dir} yet: tskv deploy creates it`,
        },
      ];
    }
    return certExpiryChecks(CONTROLLER_HOST, sources);
  } catch (err) {
    return [unreadable(CONTROLLER_HOST, err)];
  }
}

async function hostChecks(session: Session, host: string, pkiCa: string | undefined): Promise<CheckResult[]> {
  const inv = session.inventory;
  let fromFolder: CertSource[];
  try {
    fromFolder = present(
      await Promise.all(
        (['server', 'peer'] as const).map((role) => fromPki(inv, memberFiles(host, role).cert, role)),
      ),
    );
  } catch (err) {
    return [unreadable(host, err)];
  }
  const ch = session.hosts.get(host);
  let onHost: CertSource[] = [];
  if (ch) {
    try {
      onHost = (await readHostCerts(ch))
        // The CA the host trusts is judged with the PKI's when it is the same one.
        .filter((f) => f.pem !== undefined && !(f.role === 'ca' && f.pem.trim() === pkiCa?.trim()))
        .map((f) => ({ role: f.role, where: `${f.path} on ${host}`, pem: f.pem! }));
    } catch (err) {
      return [failedCheck(host, err, 'certificates')];
    }
  }
  return certExpiryChecks(host, [...onHost, ...fromFolder]);
}

export async function certificateChecks(session: Session, hosts: string[]): Promise<CheckResult[]> {
  const inv = session.inventory;
  const pkiCa = await readPkiFile(join(inv.tls.dir, CA_FILES.cert), 'cert').catch(() => undefined);
  const results = await Promise.all([
    controllerChecks(inv),
    ...hosts.map((host) => hostChecks(session, host, pkiCa)),
  ]);
  return results.flat();
}

/**
 * tls.mode files: the operator's own CA, client identity and member certificates, checked on the
 * controller before anything reaches a host. Every problem is found in one pass and reported
 * together (E_TLS_FILES), each naming its host, its file and the fix.
 */
import { TskvError } from '../errors.ts';
import { isHostname } from '../inventory/addresses.ts';
import type { CertKeyPaths, HostSpec, Inventory } from '../inventory/model.ts';
import { readPkiFile } from './files.ts';
import { isSignedBy, parseCertPem } from './inspect.ts';
import {
  type CertProblem,
  type CertProblemKind,
  caProblems,
  issuedCertProblems,
  sanProblems,
} from './validate.ts';
import type * as x509 from './x509.ts';

export interface TlsFileProblem {
  /** The member whose file it is; undefined for the CA and the client identity. */
  host: string | undefined;
  /** The host's name, or tls.ca / tls.client. */
  where: string;
  /** The file at fault, as the inventory resolves it. */
  file: string;
  /** What is wrong, naming the file. */
  message: string;
  fix: string;
}

/** A certificate and key the inventory names, and what they must be good for. */
interface PairCheck {
  host: string | undefined;
  where: string;
  /** "server and peer certificate", "client certificate", ... */
  role: string;
  /** The inventory keys that name the files (hosts.h1.tls.cert). */
  keys: { cert: string; key: string };
  paths: CertKeyPaths;
  usages: readonly string[];
  /** Addresses its SANs must name, each with what it is. */
  names: { address: string; what: string }[];
}

const MEMBER_USAGES = ['serverAuth', 'clientAuth'];
const LOOPBACK = { address: '127.0.0.1', what: 'the loopback address tskv and etcd itself reach it by' };

/** The member's pairs: one check when the peer port uses the server pair, else one each. */
function memberChecks(host: HostSpec, own: NonNullable<HostSpec['tls']>): PairCheck[] {
  const prefix = `hosts.${host.name}.tls`;
  const address = { address: host.address, what: `${host.name}'s address` };
  const server = { cert: `${prefix}.cert`, key: `${prefix}.key` };
  const shared = own.peer.cert === own.server.cert && own.peer.key === own.server.key;
  const check = (role: string, keys: PairCheck['keys'], paths: CertKeyPaths, names: PairCheck['names']) => ({
    host: host.name,
    where: host.name,
    role,
    keys,
    paths,
    usages: MEMBER_USAGES,
    names,
  });
  if (shared) return [check('server and peer certificate', server, own.server, [address, LOOPBACK])];
  return [
    check('server certificate', server, own.server, [address, LOOPBACK]),
    check('peer certificate', { cert: `${prefix}.peerCert`, key: `${prefix}.peerKey` }, own.peer, [address]),
  ];
}

function sanEntry(address: string): string {
  return `${isHostname(address) ? 'DNS' : 'IP'}:${address}`;
}

/** The fix for a problem of `kind` in the pair `c` (its certificate unless said otherwise). */
function fixFor(kind: CertProblemKind, c: PairCheck, caPath: string): string {
  switch (kind) {
    case 'chain':
      return `issue it from the CA in tls.ca (${caPath}), or set tls.ca to the CA that issued it (intermediate CAs are not supported: issue member and client certificates from the CA itself)`;
    case 'san':
      return `issue it again with every one of these in its subjectAltName: ${c.names.map((n) => sanEntry(n.address)).join(', ')}`;
    case 'key':
      return `${c.keys.key} must name the private key ${c.keys.cert} was issued for`;
    case 'expired':
      return `issue a new ${c.role} (deploy places it and restarts the member alone)`;
    case 'not-yet-valid':
      return "issue it with a notBefore in the past (an hour back covers clock skew), or check this machine's clock";
    case 'usage':
      return c.host === undefined
        ? 'issue it with extendedKeyUsage clientAuth'
        : "issue it with extendedKeyUsage serverAuth, clientAuth (members dial each other with the peer certificate, and etcd's gateway dials its own client port with the server one)";
    case 'unreadable':
      return `put the PEM file there, or correct ${c.keys.cert} in the inventory`;
  }
}

/** Whose files a problem is about: a member's (host) or the CA's and client's (tls.ca, tls.client). */
interface Owner {
  host: string | undefined;
  where: string;
}

type Collect = (owner: Owner, file: string, message: string, fix: string) => void;

/** A file's text through readPkiFile (no symlinks, keys 0600/0400), or undefined after a problem. */
async function readUserFile(
  collect: Collect,
  owner: Owner,
  path: string,
  kind: 'cert' | 'key',
  inventoryKey: string,
): Promise<string | undefined> {
  try {
    const text = await readPkiFile(path, kind);
    if (text === undefined) {
      collect(
        owner,
        path,
        `${path} does not exist (${inventoryKey})`,
        `put the PEM file there, or correct ${inventoryKey} in the inventory`,
      );
    }
    return text;
  } catch (err) {
    const fix =
      err instanceof TskvError && err.fix ? err.fix : `make ${path} readable by the user running tskv`;
    collect(owner, path, (err as Error).message, fix);
    return undefined;
  }
}

function parseCerts(pem: string): x509.X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => parseCertPem(block));
}

/** The CA certificates of tls.ca (a bundle may hold several, e.g. while rotating), or [] after a problem. */
async function readCas(collect: Collect, path: string, now: Date): Promise<x509.X509Certificate[]> {
  const owner = { host: undefined, where: 'tls.ca' };
  const pem = await readUserFile(collect, owner, path, 'cert', 'tls.ca');
  if (pem === undefined) return [];
  const notPem = (why: string) =>
    collect(owner, path, `CA certificate ${path} ${why}`, 'set tls.ca to the PEM file of the CA certificate');
  let cas: x509.X509Certificate[];
  try {
    cas = parseCerts(pem);
  } catch (err) {
    notPem((err as Error).message);
    return [];
  }
  if (cas.length === 0) notPem('holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  for (const ca of cas) {
    for (const p of caProblems(ca, now)) {
      const fix =
        p.kind === 'chain'
          ? "set tls.ca to the CA's own certificate (basicConstraints CA:TRUE), not a member's or the client's"
          : 'renew the CA, and issue every member and client certificate from it again';
      collect(owner, path, `CA certificate ${path} (${ca.subject}): ${p.message}`, fix);
    }
  }
  return cas;
}

/** The CA of the bundle that signed `cert`, else the first (whose check then names the chain problem). */
async function issuerOf(
  cert: x509.X509Certificate,
  cas: readonly x509.X509Certificate[],
): Promise<x509.X509Certificate | undefined> {
  for (const ca of cas) if (await isSignedBy(cert, ca)) return ca;
  return cas[0];
}

async function checkPair(
  collect: Collect,
  c: PairCheck,
  cas: x509.X509Certificate[],
  caPath: string,
  now: Date,
): Promise<void> {
  const certPem = await readUserFile(collect, c, c.paths.cert, 'cert', c.keys.cert);
  const keyPem = await readUserFile(collect, c, c.paths.key, 'key', c.keys.key);
  if (certPem === undefined) return;
  let cert: x509.X509Certificate;
  try {
    cert = parseCertPem(certPem);
  } catch (err) {
    collect(
      c,
      c.paths.cert,
      `${c.role} ${c.paths.cert} ${(err as Error).message}`,
      fixFor('unreadable', c, caPath),
    );
    return;
  }
  const problems: CertProblem[] = [
    ...(await issuedCertProblems(cert, keyPem, await issuerOf(cert, cas), now, c.usages)),
    ...c.names.flatMap((n) => sanProblems(cert, [n.address], n.what)),
  ];
  for (const p of problems) {
    const file = p.kind === 'key' ? c.paths.key : c.paths.cert;
    const what = p.kind === 'key' ? `the key ${file} of ${c.role} ${c.paths.cert}` : `${c.role} ${file}`;
    collect(c, file, `${what}: ${p.message}`, fixFor(p.kind, c, caPath));
  }
}

/** Every problem of the CA, the client identity and each member's certificates, in inventory order. */
export async function userTlsProblems(inv: Inventory, now: Date = new Date()): Promise<TlsFileProblem[]> {
  const files = inv.tls.files;
  if (inv.tls.mode !== 'files' || !files) return [];
  const problems: TlsFileProblem[] = [];
  const collect: Collect = (owner, file, message, fix) =>
    problems.push({ host: owner.host, where: owner.where, file, message, fix });
  const cas = await readCas(collect, files.ca, now);
  const checks: PairCheck[] = [
    {
      host: undefined,
      where: 'tls.client',
      role: 'client certificate',
      keys: { cert: 'tls.client.cert', key: 'tls.client.key' },
      paths: files.client,
      usages: ['clientAuth'],
      names: [],
    },
    ...inv.hosts.flatMap((h) => (h.tls ? memberChecks(h, h.tls) : [])),
  ];
  for (const c of checks) await checkPair(collect, c, cas, files.ca, now);
  return problems;
}

function problemLines(p: TlsFileProblem): string {
  return `  ${p.where}: ${p.message}\n    fix: ${p.fix}`;
}

/**
 * tls.mode files: throws E_TLS_FILES listing every problem of the operator's certificates; other
 * modes have none to check. Run before anything is pushed to a host.
 */
export async function checkUserTls(inv: Inventory, now: Date = new Date()): Promise<void> {
  const problems = await userTlsProblems(inv, now);
  if (problems.length === 0) return;
  const n = problems.length === 1 ? 'a problem' : `${problems.length} problems`;
  throw new TskvError(
    'E_TLS_FILES',
    `the TLS files ${inv.file} names (tls.mode files) have ${n}; nothing was changed on any host:\n${problems.map(problemLines).join('\n')}`,
    {
      step: 'tls files',
      fix: 'fix each file above (or the inventory line naming it), then run the command again',
    },
  );
}

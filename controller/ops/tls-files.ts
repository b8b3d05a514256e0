/**
 * The TLS material a member's host holds with TLS on: which part of what the controller hands out
 * (pki/material.ts: the PKI folder's, or the operator's own files with tls.mode files) goes where
 * on the host, and whether the host has it as it should (content, 0640 root:etcd). Pure; the play
 * reads both sides. Contents never reach a plan: a step names the files, the runner takes their
 * contents on the controller when it writes them.
 */
import { ETCD_GROUP, ETCD_PKI_FILES, ETCD_PKI_MODE, type FileEncoding } from '../../agent/api/index.ts';
import type { Inventory } from '../inventory/model.ts';
import { crlDerBase64 } from '../pki/crl.ts';
import type { MemberMaterial } from '../pki/material.ts';
import type { FileAccess } from './config.ts';

export interface TlsFile {
  /** Where it goes on the host. */
  path: string;
  kind: 'key' | 'cert' | 'crl';
  /** How its content travels and is compared (the revocation list is binary DER). */
  encoding: FileEncoding;
  /** Its content as the host gets it, from what the PKI hands out (undefined: not issued yet). */
  content(m: MemberMaterial): string | undefined;
}

export const TLS_FILE_OWNER = `root:${ETCD_GROUP}`;

/** The CA certificates, the member's server and peer pairs, and the revocation list. */
export const MEMBER_TLS_FILES: readonly TlsFile[] = [
  { path: ETCD_PKI_FILES.ca, kind: 'cert', encoding: 'utf8', content: (m) => m.trust },
  { path: ETCD_PKI_FILES.serverCert, kind: 'cert', encoding: 'utf8', content: (m) => m.server.cert },
  { path: ETCD_PKI_FILES.serverKey, kind: 'key', encoding: 'utf8', content: (m) => m.server.key },
  { path: ETCD_PKI_FILES.peerCert, kind: 'cert', encoding: 'utf8', content: (m) => m.peer.cert },
  { path: ETCD_PKI_FILES.peerKey, kind: 'key', encoding: 'utf8', content: (m) => m.peer.key },
  {
    path: ETCD_PKI_FILES.crl,
    kind: 'crl',
    encoding: 'base64',
    content: (m) => (m.crl === undefined ? undefined : crlDerBase64(m.crl)),
  },
];

/** The files a member's host holds: no revocation list with the operator's own files (tls.mode files). */
export function memberTlsFiles(inv: Inventory): readonly TlsFile[] {
  return inv.tls.mode === 'files' ? MEMBER_TLS_FILES.filter((f) => f.kind !== 'crl') : MEMBER_TLS_FILES;
}

/** Every TLS file's content as the host should have it, by host path. */
export function tlsFileContents(inv: Inventory, m: MemberMaterial): Map<string, string | undefined> {
  return new Map(memberTlsFiles(inv).map((f) => [f.path, f.content(m)]));
}

/** A file as the host has it. */
export interface HostFile extends FileAccess {
  content: string;
}

export interface TlsFilesChange {
  title: string;
  paths: string[];
  /**
   * The member must restart to use them: not for the revocation list alone, which etcd reads at
   * every connection it accepts.
   */
  restart: boolean;
}

/**
 * The host's TLS files against the PKI's (undefined: the PKI has yet to issue it): what to write
 * (file names), or undefined when all are right.
 */
export function planTlsFiles(
  want: ReadonlyMap<string, string | undefined>,
  have: ReadonlyMap<string, HostFile | undefined>,
): TlsFilesChange | undefined {
  const paths = [...want.keys()].filter((path) => {
    const file = have.get(path);
    const content = want.get(path);
    return (
      file === undefined ||
      content === undefined ||
      file.content !== content ||
      file.mode !== ETCD_PKI_MODE ||
      file.owner !== TLS_FILE_OWNER
    );
  });
  if (paths.length === 0) return undefined;
  const names = paths.map((p) => p.slice(p.lastIndexOf('/') + 1));
  const fresh = paths.every((p) => have.get(p) === undefined);
  return {
    title: `${fresh ? 'place' : 'update'} TLS files ${names.join(', ')} (0640 ${TLS_FILE_OWNER})`,
    paths,
    restart: paths.some((p) => p !== ETCD_PKI_FILES.crl),
  };
}

/** Running `tskv deploy` against a lab and looking at the hosts from inside. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeployResult } from '../../controller/plays/deploy.ts';
import type { Lab, LabHost } from '../../lab/lab.ts';
import { type CliResult, tskv } from './cli.ts';

export interface DeployRun {
  result: CliResult;
  doc: DeployResult;
}

export async function deploy(
  inventory: string,
  args: string[] = [],
  options: { seams?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<DeployRun> {
  const result = await tskv(['deploy', inventory, '--json', ...args], { ...options, timeoutMs: 240_000 });
  try {
    return { result, doc: JSON.parse(result.stdout) as DeployResult };
  } catch {
    throw new Error(`tskv deploy printed no JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}

/** Asserts exit 0 and a verified cluster, showing the error document otherwise. */
export function assertDeployed(run: DeployRun): void {
  assert.equal(
    run.result.code,
    0,
    `deploy failed: ${JSON.stringify(run.doc.error, null, 1)}\n${run.result.stderr.slice(-3000)}`,
  );
  assert.equal(run.doc.ok, true);
  assert.ok(run.doc.verify, 'verified');
}

/** curl on the host itself (the seed's own checks), JSON-decoded. */
export async function curlJson<T>(host: LabHost, args: string): Promise<T> {
  const out = await host.execOk(`curl -sS --max-time 5 ${args}`);
  return JSON.parse(out) as T;
}

/** Where placeClientCert puts the controller's client identity on a host. */
export const CLIENT_CERT_DIR = '/root/tskv-client';
/** curl's options for the client identity placeClientCert placed. */
export const CURL_CLIENT_CERT = `--cacert ${CLIENT_CERT_DIR}/ca.crt --cert ${CLIENT_CERT_DIR}/client.crt --key ${CLIENT_CERT_DIR}/client.key`;

/** The CA and client identity of the PKI folder `pki`, copied to `host` for curl there (2379 is not reachable from this machine). */
export async function placeClientCert(host: LabHost, pki: string): Promise<void> {
  await host.execOk(`mkdir -p -m 700 ${CLIENT_CERT_DIR}`);
  for (const file of ['ca.crt', 'client.crt', 'client.key'])
    await host.execOk(`cat >${CLIENT_CERT_DIR}/${file}`, { input: readFileSync(join(pki, file), 'utf8') });
}

/** The issuer and SANs of the certificate `to` shows on its peer port, as `from` sees it with openssl s_client. */
export function peerCertShown(from: LabHost, to: LabHost): Promise<string> {
  return from.execOk(
    `echo | openssl s_client -connect ${to.address}:2380 -CAfile ${CLIENT_CERT_DIR}/ca.crt 2>/dev/null | openssl x509 -noout -issuer -ext subjectAltName`,
  );
}

/** etcd's pid on each host (pgrep), for "restarted nothing" assertions. */
export async function etcdPids(lab: Lab): Promise<Record<string, string>> {
  const entries = await Promise.all(
    lab.hosts.map(async (h) => [h.name, (await h.exec('pgrep -x etcd || true')).stdout.trim()] as const),
  );
  return Object.fromEntries(entries);
}

/** Start time of each host's etcd in clock ticks since the host booted (/proc/PID/stat field 22). */
export async function etcdStartTicks(lab: Lab): Promise<Record<string, number>> {
  const entries = await Promise.all(
    lab.hosts.map(async (h) => {
      const out = await h.execOk("awk '{print $22}' /proc/$(pgrep -x etcd)/stat");
      return [h.name, Number(out.trim())] as const;
    }),
  );
  return Object.fromEntries(entries);
}

export interface V3Member {
  ID: string;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
}

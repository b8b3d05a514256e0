import {
  ETCD_ENV_MODE,
  ETCD_GROUP,
  ETCD_PKI_MODE,
  type FactsResponse,
  type ResponseOf,
  routes,
} from '../../agent/api/index.ts';
import { remoteTarballPath } from '../artifacts/etcd-tarball.ts';
import { describeCause, InputError, TskvError } from '../errors.ts';
import type { EtcdMember } from '../etcd/index.ts';
import type { Inventory } from '../inventory/model.ts';
import { tlsOn } from '../inventory/tls.ts';
import { envFileValue } from '../ops/config.ts';
import type { Exposure } from '../ops/firewall-plan.ts';
import { planInstall } from '../ops/install.ts';
import { joiningInitialCluster } from '../ops/membership.ts';
import { memberTlsFiles } from '../ops/tls-files.ts';
import { checkUserTls, describePkiChanges, ensurePki, memberTlsMaterial } from '../pki/index.ts';
import { renderHost } from '../render/render.ts';
import { ETCD_ENV_FILE } from '../render/settings.ts';
import type { Progress } from '../run/progress.ts';
import { relayedLine } from '../transfer/relay.ts';
import type { RelayBoard } from '../transfer/relay-board.ts';
import {
  offerCachedTarball,
  placeTarball,
  type TarballSource,
  type TarballState,
  tarballSourceOf,
} from './etcd-prefetch.ts';
import { openFirewall, openRequest } from './firewall.ts';
import type { HostChannel } from './session.ts';

export type ServiceStatus = ResponseOf<typeof routes.etcdService>;

const LOG_LINES = 25;

export function serviceCall(
  ch: HostChannel,
  action: 'install' | 'start' | 'stop' | 'restart' | 'status',
  unit?: string,
): Promise<ServiceStatus> {
  return ch.agent.call(
    routes.etcdService,
    { action, ...(unit === undefined ? {} : { unit }) },
    { step: `${action} etcd`, timeoutMs: 60_000 },
  );
}

/**
 * Pushes the etcd tarball, or has the host download it (etcd.fetch: host), unless the host's cache
 * already holds these bytes or a prefetch during preflight got them there, and installs etcd from it. Returns the actions taken. `stage`:
 * unpacked only, the links left on the version the member runs (a rolling upgrade). `relay`: a
 * push may come from another host instead (relay-board.ts).
 */
export async function installEtcd(
  ch: HostChannel,
  source: TarballSource,
  version: string,
  options: {
    progress?: Progress;
    prefetched?: Promise<TarballState | undefined> | undefined;
    stage?: boolean;
    relay?: RelayBoard | undefined;
  } = {},
): Promise<string[]> {
  const { progress = () => {}, prefetched, stage = false, relay } = options;
  const early = await prefetched;
  let tarball = typeof early === 'object' ? early : undefined;
  if (!tarball) {
    progress(
      typeof source === 'function'
        ? `pushing ${(await source()).fileName}`
        : `${ch.spec.name} downloads ${source.fileName}`,
    );
    tarball = await placeTarball(ch, source, relay);
  }
  progress(`${stage ? 'staging' : 'installing'} etcd ${version}`);
  const r = await ch.agent.call(
    routes.etcdInstall,
    {
      tarball: remoteTarballPath(tarball.form),
      sha256: tarball.form.sha256,
      version,
      ...(stage ? { link: false } : {}),
    },
    { step: 'install etcd', timeoutMs: 120_000 },
  );
  return [
    ...(tarball.pushed ? [`uploaded ${tarball.form.fileName}`] : []),
    ...(tarball.relayedFrom ? [relayedLine(tarball.form.fileName, tarball.relayedFrom)] : []),
    ...(tarball.note ? [tarball.note] : []),
    ...(tarball.fetched?.actions ?? []),
    ...r.actions,
  ];
}

export async function writeEnvFile(
  ch: HostChannel,
  env: string,
): Promise<{ changed: boolean; actions: string[] }> {
  const r = await ch.agent.call(
    routes.fileWrite,
    // root:etcd 0640: readable by root and etcd only (the agent creates the etcd account if missing).
    { path: ETCD_ENV_FILE, content: env, mode: ETCD_ENV_MODE, group: ETCD_GROUP },
    { step: `write ${ETCD_ENV_FILE}` },
  );
  return { changed: r.changed, actions: r.actions };
}

/**
 * Writes the member's TLS files that `paths` names as the controller hands them out now (the PKI
 * folder, or the operator's own files) to the host (root:etcd 0640: etcd reads them, no one else).
 * The agent reports no diff for them: keys are never shown.
 */
export async function writeTlsFiles(ch: HostChannel, inv: Inventory, paths: string[]): Promise<string[]> {
  const actions: string[] = [];
  const material = await memberTlsMaterial(inv, ch.spec.name);
  for (const file of memberTlsFiles(inv).filter((f) => paths.includes(f.path))) {
    const content = file.content(material);
    if (content === undefined) {
      throw new InputError(
        inv.tls.mode === 'files'
          ? `${ch.spec.name}'s ${file.path} cannot be read from the files ${inv.file} names`
          : `the PKI folder ${inv.tls.dir} has no ${file.path} for ${ch.spec.name} yet`,
        {
          fix:
            inv.tls.mode === 'files'
              ? `put it back, or correct ${inv.file}`
              : `run 'tskv deploy ${inv.file}'`,
        },
      );
    }
    const r = await ch.agent.call(
      routes.fileWrite,
      {
        path: file.path,
        content,
        ...(file.encoding === 'utf8' ? {} : { encoding: file.encoding }),
        mode: ETCD_PKI_MODE,
        group: ETCD_GROUP,
      },
      { step: `write ${file.path}` },
    );
    actions.push(...r.actions);
  }
  return actions;
}

/** The log line that most likely says why etcd stopped (capnslog "C |"/"E |", zap fatal/error, Go panics). */
export function likelyCause(lines: string[]): string | undefined {
  const patterns = [/ C \| /, /"level":"(fatal|panic)"/, /^panic:/, / E \| /, /"level":"error"/, /error/i];
  for (const p of patterns) {
    const hit = [...lines].reverse().find((l) => p.test(l));
    if (hit) return hit.trim();
  }
  return undefined;
}

/** A member that would not run, with its last log lines and the likely cause. */
export async function startFailure(
  ch: HostChannel,
  step: string,
  what: string,
  cause?: unknown,
): Promise<TskvError> {
  let lines: string[] = [];
  let logged: string | undefined;
  try {
    ({ lines, cause: logged } = await ch.agent.call(
      routes.etcdLogs,
      { lines: LOG_LINES },
      { step: 'etcd logs' },
    ));
  } catch (err) {
    lines = [`(could not read the log: ${describeCause(err)})`];
  }
  const likely = logged ?? likelyCause(lines);
  const log = lines.length
    ? `\n  last ${lines.length} log lines:\n${lines.map((l) => `    ${l}`).join('\n')}`
    : '';
  return new TskvError(
    'E_ETCD_START',
    `${what}${likely ? `\n  cause: ${likely}` : cause ? `\n  cause: ${describeCause(cause)}` : ''}${log}`,
    {
      host: ch.spec.name,
      step,
      fix: 'fix the cause on that host or in the inventory and re-run (the other members keep running)',
    },
  );
}

/** Installs the inventory's etcd and lets the client and peer ports in as `exposure` says (peers must reach both). */
export async function prepareHost(
  ch: HostChannel,
  inv: Inventory,
  exposure: Exposure,
  /** Hosts that may serve the tarball from their cache instead of the controller's link (the members). */
  tarballFrom?: { relay: RelayBoard; holders: HostChannel[] },
): Promise<{ facts: FactsResponse; actions: string[] }> {
  const facts = await ch.agent.call(routes.facts, { dataDir: ch.spec.dataDir }, { step: 'facts' });
  const source = tarballSourceOf(inv.etcd);
  const install = planInstall(facts, inv.etcd);
  if (install && tarballFrom && typeof source === 'function') {
    // Not waited for (the firewall opens meanwhile): resolved first on the same promise, the
    // members are on the board before the install below claims the tarball.
    source()
      .then((artifact) => offerCachedTarball(tarballFrom.holders, artifact, tarballFrom.relay))
      .catch(() => undefined);
  }
  // A host that downloads the tarball itself has it, verified, before anything changes on it.
  const fetched = install && typeof source !== 'function' ? await placeTarball(ch, source) : undefined;
  // The tarball travels over SSH while the agent opens the firewall.
  const [installed, opened] = await Promise.all([
    install
      ? installEtcd(ch, source, inv.etcd.version, {
          prefetched: fetched && Promise.resolve(fetched),
          relay: tarballFrom?.relay,
        })
      : Promise.resolve([]),
    openFirewall(ch, openRequest(exposure)),
  ]);
  return { facts, actions: [...installed, ...opened] };
}

/**
 * TLS on: the member's certificates, placed on its host before it starts (a new member of a TLS
 * cluster cannot start without them): with tls.mode auto issued where the PKI has none (or stale
 * ones) for it, with files the operator's own, checked first.
 */
export async function placeMemberTls(ch: HostChannel, inv: Inventory): Promise<string[]> {
  if (!tlsOn(inv)) return [];
  const issued =
    inv.tls.mode === 'files'
      ? await checkUserTls(inv).then(() => [])
      : describePkiChanges(await ensurePki(inv.tls.dir, [{ name: ch.spec.name, address: ch.spec.address }]));
  const paths = memberTlsFiles(inv).map((f) => f.path);
  return [...issued, ...(await writeTlsFiles(ch, inv, paths))];
}

/**
 * Starts `ch`'s member (prepared by prepareHost) joining the live cluster: places its TLS files
 * (tls.mode auto), writes the env file with `initial-cluster-state existing` and the live member
 * list, and starts (or, when its config changed or etcd exited, restarts) the service.
 */
export async function startJoiningMember(
  ch: HostChannel,
  inv: Inventory,
  members: EtcdMember[],
  facts: FactsResponse,
): Promise<ServiceStatus> {
  const tls = await placeMemberTls(ch, inv);
  const initialCluster = joiningInitialCluster(inv, members, ch.spec.name);
  const written = await writeEnvFile(
    ch,
    renderHost(inv, ch.spec.name, 'env', { state: 'existing', initialCluster }),
  );
  const unit = facts.init.systemd ? renderHost(inv, ch.spec.name, 'systemd') : undefined;
  const started = await serviceCall(ch, 'start', unit);
  const changed = written.changed || tls.length > 0;
  if (!started.running || (changed && !started.changed)) return serviceCall(ch, 'restart', unit);
  return started;
}

/** The host's env file as it is, if it exists. */
export async function readEnvFile(ch: HostChannel): Promise<string | undefined> {
  const r = await ch.agent.call(routes.fileRead, { path: ETCD_ENV_FILE }, { step: `read ${ETCD_ENV_FILE}` });
  return r.exists ? r.content : undefined;
}

/**
 * Stops etcd on the host and moves its data dirs aside (`<dir>.removed-<timestamp>`): the given
 * ones and the one its env file names. Only for a host whose member is gone or never started.
 * With `member`, a host whose env file names another member is not touched (the address reached
 * is not that member's host). Returns where each data dir went.
 */
export async function retireHost(
  ch: HostChannel,
  dataDirs: string[],
  expect: { member?: string } = {},
): Promise<string[]> {
  const env = await readEnvFile(ch);
  const runs = env === undefined ? undefined : envFileValue(env, 'ETCD_NAME');
  if (expect.member !== undefined && runs !== undefined && runs !== expect.member) {
    throw new TskvError(
      'E_WRONG_HOST',
      `not touching ${ch.spec.address}: its etcd config is member ${runs}'s, not ${expect.member}'s`,
      {
        host: expect.member,
        step: 'retire host',
        fix: `check which machine answers at ${ch.spec.address} (ssh_config HostName?); stop etcd of ${expect.member} and move its data dir aside by hand`,
      },
    );
  }
  await serviceCall(ch, 'stop');
  const fromEnv = env === undefined ? undefined : envFileValue(env, 'ETCD_DATA_DIR');
  const dirs = [...new Set([...dataDirs, ...(fromEnv ? [fromEnv] : [])])];
  const moved: string[] = [];
  for (const path of dirs) {
    const r = await ch.agent.call(routes.dataDirMoveAside, { path }, { step: `move ${path} aside` });
    if (r.movedTo) moved.push(r.movedTo);
  }
  return moved;
}

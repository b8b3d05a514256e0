/**
 * relay offer (agent/api/relay.ts): serve one file this host holds to one other host, once. The
 * path comes from an allow-list (policy/relay.ts), the receiver checks the sha256 the controller
 * gave it; this side admits only `to`'s address and GET /<token>, and closes after one whole
 * answer or the ttl, whichever comes first. With firewalld running, a runtime-only rich rule with
 * the same timeout lets `to` in (firewalld drops it itself; it is removed early when the offer
 * ends), over D-Bus or, where firewalld does not answer there, through firewall-cmd, as
 * firewallOpen changes the zone (firewalld-open.ts). Under ufw or nftables it refuses: the
 * controller pushes the file itself.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AGENT_INSTALL_DIR, type routes } from '../api/index.ts';
import { AgentError, refused } from '../errors.ts';
import { HOST_LAYOUT } from '../policy/layout.ts';
import { fromAddress, type RelayFiles, relayFilePath, servesRequest } from '../policy/relay.ts';
import { type DbusInvoke, dbusInvoke } from '../system/dbus.ts';
import { fileSha256 } from '../system/file-sha256.ts';
import { detectFirewall, type FirewallDetection } from '../system/firewall-detect.ts';
import { sourceRichRule } from '../system/firewalld.ts';
import { planTimedRichRule } from '../system/firewalld-open.ts';
import { runCommand } from '../system/run.ts';
import { applySteps, type RunCommand, type Step } from '../system/steps.ts';
import type { Handler } from './types.ts';

/** The file, once, to `to`, at GET /<token>; resolves once listening. `served` runs once the answer is out. */
function serveOnce(
  path: string,
  size: number,
  to: string,
  token: string,
  served: () => void,
): Promise<Server> {
  let taken = false;
  const server = createServer((req, res) => {
    if (taken) {
      req.socket.destroy(); // the token is good for one answer
      return;
    }
    if (!servesRequest(req.method, req.url, token)) {
      res.writeHead(404).end();
      return;
    }
    taken = true;
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(size),
      connection: 'close',
    });
    const file = createReadStream(path);
    file.pipe(res);
    file.on('error', () => res.destroy());
    // One answer ends the offer: 'close', not 'finish', which never comes when the receiver closes
    // the connection, having read every byte, before the last write's callback ran.
    res.on('close', served);
  });
  server.on('connection', (socket) => {
    if (taken || !fromAddress(socket.remoteAddress, to)) socket.destroy();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, () => resolve(server));
  });
}

/** How the offer reads and changes the host: the real ones, or recording fakes in tests. */
export interface RelayOfferHost {
  detect?: () => Promise<Pick<FirewallDetection, 'backend' | 'defaultZone'>>;
  run?: RunCommand;
  bus?: DbusInvoke;
}

/** The relay offer route. */
export function makeRelayOffer(
  files: RelayFiles,
  host: RelayOfferHost = {},
): Handler<typeof routes.relayOffer> {
  const { detect = detectFirewall, run = runCommand, bus = dbusInvoke } = host;
  return async ({ file, to, ttlSeconds }) => {
    const path = await relayFilePath(file, files);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      throw new AgentError('E_AGENT_NOT_FOUND', `${path} is not on this host`, 404);
    }
    if (file.kind === 'tarball' && (await fileSha256(path)) !== file.sha256) {
      throw new AgentError(
        'E_AGENT_SHA256',
        `${path} does not hold the tarball with sha256 ${file.sha256}`,
        409,
      );
    }
    const firewall = await detect();
    if (firewall.backend === 'ufw' || firewall.backend === 'nftables') {
      throw refused(
        `this host filters with ${firewall.backend}: tskv relays files only from hosts with firewalld or no firewall`,
      );
    }
    const token = randomBytes(16).toString('hex');
    /** The steps taking the rule out, once it is in. */
    let removal: Step[] | undefined;
    let ended = false;
    const removeRule = (steps: Step[]) =>
      applySteps(steps, run, bus).catch((err: Error) =>
        process.stderr.write(
          `relay offer on ${port}/tcp: removing its firewalld rule failed: ${err.message}\n`,
        ),
      );
    // The answer is out, the ttl passed, or the rule could not be added: no more connections, and
    // the rule goes now (firewalld would drop it at its timeout anyway).
    const end = () => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      server.close();
      server.closeIdleConnections();
      if (removal) void removeRule(removal);
    };
    const server = await serveOnce(path, size, to, token, () => end());
    const timer = setTimeout(end, ttlSeconds * 1000);
    const { port } = server.address() as AddressInfo;
    if (firewall.backend !== 'firewalld') return { port, token, size, firewall: 'none' };
    try {
      const rule = await planTimedRichRule(
        sourceRichRule(port, to),
        ttlSeconds,
        run,
        bus,
        firewall.defaultZone,
      );
      await applySteps(rule.add, run, bus);
      removal = rule.remove;
    } catch (err) {
      end();
      throw new AgentError(
        'E_AGENT_COMMAND_FAILED',
        `cannot let ${to} in on ${port}/tcp: ${(err as Error).message}`,
      );
    }
    if (ended) {
      // The ttl passed while the rule went in: it goes now, and there is no offer to give.
      void removeRule(removal);
      throw new AgentError(
        'E_AGENT_COMMAND_FAILED',
        `the offer's ${ttlSeconds} s passed while its firewalld rule went in`,
      );
    }
    return { port, token, size, firewall: 'firewalld' };
  };
}

export const relayOffer = makeRelayOffer({
  layout: HOST_LAYOUT,
  installDir: AGENT_INSTALL_DIR,
  execPath: process.execPath,
});

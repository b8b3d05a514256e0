/**
 * Host-to-host relays (issue 16): a host that has a file offers it, through its agent, to one other
 * host for a few minutes (agent/api/relay.ts), and the receiver fetches it over their own network
 * and checks the sha256 the controller gave it. Who pulls from whom is relay-board.ts; this is the
 * glue to the agents, and the words the output uses.
 */
import { isIPv4 } from 'node:net';
import { type RelayOfferRequest, routes } from '../../agent/api/index.ts';
import type { AgentClient } from '../agent-client/client.ts';
import type { RelayBoard, RelaySource } from './relay-board.ts';

/** How long an offer stays open: a pull starts at once, and 100 MB on a LAN takes seconds. */
export const RELAY_TTL_SECONDS = 120;

/** The address a host serves and receives relays on: its inventory address, when an IPv4 literal (else no relay). */
export function relayAddress(address: string): string | undefined {
  return isIPv4(address) ? address : undefined;
}

/** `name`'s agent, offering `file` from `address`. */
export function agentSource(
  name: string,
  address: string,
  agent: AgentClient,
  file: RelayOfferRequest['file'],
): RelaySource {
  return {
    name,
    async offer(to) {
      const r = await agent.call(
        routes.relayOffer,
        { file, to, ttlSeconds: RELAY_TTL_SECONDS },
        { step: `offer the ${file.kind} to ${to}`, timeoutMs: 30_000 },
      );
      return `http://${address}:${r.port}/${r.token}`;
    },
  };
}

/** A host's part in the relays of one run (undefined: relays are off, or the host has no IPv4 address). */
export interface HostRelay {
  board: RelayBoard;
  name: string;
  address: string;
}

export function hostRelay(
  board: RelayBoard | undefined,
  name: string,
  address: string,
): HostRelay | undefined {
  const ip = relayAddress(address);
  return board && ip ? { board, name, address: ip } : undefined;
}

/** The note a fallback leaves in the output: the run goes on with a direct push. */
export function relayFallbackNote(what: string, from: string, reason: string): string {
  return `note: ${what} pushed directly: the relay from ${from} failed (${reason.replace(/\s+/g, ' ').trim()})`;
}

/** The line saying how a file arrived by relay. */
export function relayedLine(what: string, from: string): string {
  return `${what} from ${from} (relay)`;
}

export const runtimeKey = (sha256: string) => `runtime:${sha256}`;
export const tarballKey = (sha256: string) => `tarball:${sha256}`;

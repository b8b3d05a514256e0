import { clock } from './clock.ts';
import { facts } from './facts.ts';
import { firewallState } from './firewall.ts';
import { ports } from './ports.ts';
import { probeConnect, probeListen, probeListenResult } from './probe.ts';
import type { HandlerTable } from './types.ts';
import { version } from './version.ts';

export const handlers: HandlerTable = {
  version,
  facts,
  clock,
  probeListen,
  probeListenResult,
  probeConnect,
  ports,
  firewallState,
};

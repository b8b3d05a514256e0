import type { z } from 'zod';
import { clockRequestSchema, clockResponseSchema } from './clock-read.ts';
import {
  clockSyncRequestSchema,
  clockSyncResponseSchema,
  dataDirMoveAsideRequestSchema,
  dataDirMoveAsideResponseSchema,
  etcdInstallRequestSchema,
  etcdInstallResponseSchema,
  etcdLinkRequestSchema,
  etcdLinkResponseSchema,
  etcdLogsRequestSchema,
  etcdLogsResponseSchema,
  etcdServiceRequestSchema,
  etcdServiceResponseSchema,
  fileReadRequestSchema,
  fileReadResponseSchema,
  fileWriteRequestSchema,
  fileWriteResponseSchema,
  firewallOpenResponseSchema,
} from './deploy.ts';
import { etcdFetchRequestSchema, etcdFetchResponseSchema } from './etcd-fetch.ts';
import { factsRequestSchema, factsResponseSchema } from './facts.ts';
import {
  firewallOpenRequestSchema,
  firewallStateRequestSchema,
  firewallStateResponseSchema,
} from './firewall-state.ts';
import { lockHoldRequestSchema, lockHoldResponseSchema } from './lock.ts';
import { portsRequestSchema, portsResponseSchema } from './ports.ts';
import {
  probeConnectManyRequestSchema,
  probeConnectManyResponseSchema,
  probeListenFreeRequestSchema,
  probeListenFreeResponseSchema,
  probeListenResultsRequestSchema,
  probeListenResultsResponseSchema,
} from './probe.ts';
import { relayOfferRequestSchema, relayOfferResponseSchema } from './relay.ts';
import {
  snapshotListRequestSchema,
  snapshotListResponseSchema,
  snapshotTakeRequestSchema,
  snapshotTakeResponseSchema,
} from './snapshot.ts';
import {
  diskSpaceRequestSchema,
  diskSpaceResponseSchema,
  snapshotRestoreRequestSchema,
  snapshotRestoreResponseSchema,
  snapshotStatusRequestSchema,
  snapshotStatusResponseSchema,
} from './snapshot-restore.ts';
import {
  exitWhenIdleRequestSchema,
  exitWhenIdleResponseSchema,
  versionRequestSchema,
  versionResponseSchema,
} from './version-route.ts';

export interface AgentRoute<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly request: Req;
  readonly response: Res;
}

/** What the caller passes (defaults not yet applied). */
export type RequestOf<R extends AgentRoute> = z.input<R['request']>;
/** What the handler receives (defaults applied). */
export type ParsedRequestOf<R extends AgentRoute> = z.output<R['request']>;
export type ResponseOf<R extends AgentRoute> = z.output<R['response']>;

function route<Req extends z.ZodType, Res extends z.ZodType>(
  method: 'GET' | 'POST',
  path: string,
  request: Req,
  response: Res,
): AgentRoute<Req, Res> {
  return { method, path, request, response };
}

/** Every route the agent serves. GET routes take no body (their request schema is an empty object). */
export const routes = {
  version: route('GET', '/v1/version', versionRequestSchema, versionResponseSchema),
  exitWhenIdle: route('POST', '/v1/exit-when-idle', exitWhenIdleRequestSchema, exitWhenIdleResponseSchema),
  facts: route('POST', '/v1/facts', factsRequestSchema, factsResponseSchema),
  clock: route('POST', '/v1/clock', clockRequestSchema, clockResponseSchema),
  probeListenFree: route(
    'POST',
    '/v1/probe/listen-free',
    probeListenFreeRequestSchema,
    probeListenFreeResponseSchema,
  ),
  probeListenResults: route(
    'POST',
    '/v1/probe/listen/results',
    probeListenResultsRequestSchema,
    probeListenResultsResponseSchema,
  ),
  probeConnectMany: route(
    'POST',
    '/v1/probe/connect-many',
    probeConnectManyRequestSchema,
    probeConnectManyResponseSchema,
  ),
  ports: route('POST', '/v1/ports', portsRequestSchema, portsResponseSchema),
  firewallState: route('POST', '/v1/firewall/state', firewallStateRequestSchema, firewallStateResponseSchema),
  firewallOpen: route('POST', '/v1/firewall/open', firewallOpenRequestSchema, firewallOpenResponseSchema),
  fileRead: route('POST', '/v1/files/read', fileReadRequestSchema, fileReadResponseSchema),
  fileWrite: route('POST', '/v1/files/write', fileWriteRequestSchema, fileWriteResponseSchema),
  etcdInstall: route('POST', '/v1/etcd/install', etcdInstallRequestSchema, etcdInstallResponseSchema),
  etcdFetch: route('POST', '/v1/etcd/fetch', etcdFetchRequestSchema, etcdFetchResponseSchema),
  relayOffer: route('POST', '/v1/relay/offer', relayOfferRequestSchema, relayOfferResponseSchema),
  etcdLink: route('POST', '/v1/etcd/link', etcdLinkRequestSchema, etcdLinkResponseSchema),
  etcdService: route('POST', '/v1/etcd/service', etcdServiceRequestSchema, etcdServiceResponseSchema),
  etcdLogs: route('POST', '/v1/etcd/logs', etcdLogsRequestSchema, etcdLogsResponseSchema),
  dataDirMoveAside: route(
    'POST',
    '/v1/datadir/move-aside',
    dataDirMoveAsideRequestSchema,
    dataDirMoveAsideResponseSchema,
  ),
  clockSync: route('POST', '/v1/clock/sync', clockSyncRequestSchema, clockSyncResponseSchema),
  diskSpace: route('POST', '/v1/disk/space', diskSpaceRequestSchema, diskSpaceResponseSchema),
  snapshotStatus: route(
    'POST',
    '/v1/snapshot/status',
    snapshotStatusRequestSchema,
    snapshotStatusResponseSchema,
  ),
  snapshotRestore: route(
    'POST',
    '/v1/snapshot/restore',
    snapshotRestoreRequestSchema,
    snapshotRestoreResponseSchema,
  ),
  snapshotTake: route('POST', '/v1/snapshot/take', snapshotTakeRequestSchema, snapshotTakeResponseSchema),
  snapshotList: route('POST', '/v1/snapshot/list', snapshotListRequestSchema, snapshotListResponseSchema),
} as const;

export type Routes = typeof routes;
export type RouteName = keyof Routes;

/**
 * Routes whose reply is held open: its first line is the reply (the schema), and what the route
 * grants lasts until the connection closes.
 */
export const holdRoutes = {
  lockHold: route('POST', '/v1/lock/hold', lockHoldRequestSchema, lockHoldResponseSchema),
} as const;

/** The agent's one contract: both the agent and the controller import this module (it imports only zod). */
import './zod-config.ts';

export * from './cache-name.ts';
export * from './cidr.ts';
export * from './clock-read.ts';
export * from './deploy.ts';
export * from './env-file.ts';
export * from './errors.ts';
export * from './etcd-fetch.ts';
export * from './facts.ts';
export * from './fields.ts';
export * from './firewall-state.ts';
export * from './lock.ts';
export * from './manifest.ts';
export * from './paths.ts';
export * from './ports.ts';
export * from './probe.ts';
export * from './relay.ts';
export * from './routes.ts';
export * from './snapshot.ts';
export * from './snapshot-restore.ts';
export * from './unified-diff.ts';
export * from './version.ts';
export * from './version-route.ts';

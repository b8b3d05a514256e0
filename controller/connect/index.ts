/** Public surface of the SSH transport. */
export { type ConnectOptions, connect, type HostKeyRecorded } from './connect.ts';
export { fingerprintSha256 } from './host-key.ts';
export { ConnectionPool, type ConnectOutcome, connectAll } from './pool.ts';
export type {
  ExecOptions,
  ExecResult,
  HostConnection,
  RemoteProcess,
  SpawnOptions,
  UploadOptions,
} from './types.ts';

/** ssh_config: which OpenSSH settings apply to a host (./resolve.ts) and what they mean for tskv (./effective.ts). */
export { type EffectiveSshConfig, sshConfigFor, sshGView } from './effective.ts';
export { type ConfigPlace, SshConfigError } from './parse.ts';

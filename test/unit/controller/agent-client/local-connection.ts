/** A HostConnection that runs everything on this machine: bootstrap tests without SSH. */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import type { Duplex } from 'node:stream';
import type {
  ExecOptions,
  ExecResult,
  HostConnection,
  RemoteProcess,
  UploadOptions,
} from '../../../../controller/connect/types.ts';

const TOOLS = [
  'sh',
  'mkdir',
  'stat',
  'gzip',
  'sha256sum',
  'chmod',
  'mv',
  'find',
  'rm',
  'cat',
  'zstd',
  'echo',
  'head',
  'tail',
  'flock',
  'setsid',
  'grep',
  'sed',
];

export class LocalConnection implements HostConnection {
  readonly host = 'local';
  readonly viaSudo = false;
  uploads: string[] = [];
  /** Every command run, by exec or spawn, in order. */
  commands: string[] = [];
  readonly #env: NodeJS.ProcessEnv;

  /** `binDir`: when given, PATH holds only the tools above (minus those in `hide`), linked there. */
  constructor(options: { binDir?: string; hide?: string[] } = {}) {
    this.#env = { ...process.env };
    if (options.binDir) {
      mkdirSync(options.binDir, { recursive: true });
      for (const tool of TOOLS.filter((t) => !options.hide?.includes(t))) {
        const target = ['/usr/bin', '/bin'].map((d) => join(d, tool)).find((p) => existsSync(p));
        if (target) symlinkSync(target, join(options.binDir, tool));
      }
      this.#env['PATH'] = options.binDir;
    }
  }

  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.commands.push(command);
    return new Promise((resolve) => {
      const child = spawn('/bin/sh', ['-c', command], { env: this.#env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('close', (code) => resolve({ code: code ?? 255, stdout, stderr }));
      // A command that exits before reading its stdin (mkdir) makes this write fail with EPIPE,
      // as an SSH channel's would not: not an error of the command.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.stdin ?? '');
    });
  }

  async spawn(command: string): Promise<RemoteProcess> {
    this.commands.push(command);
    const child = spawn('/bin/sh', ['-c', command], { env: this.#env });
    return {
      stdout: child.stdout,
      stderr: child.stderr,
      stdin: child.stdin,
      exited: new Promise((resolve) => child.on('close', (code) => resolve(code))),
      kill: () => child.kill('SIGKILL'),
    };
  }

  async upload(
    data: Buffer | NodeJS.ReadableStream,
    remotePath: string,
    options: UploadOptions = {},
  ): Promise<void> {
    const chunks: Buffer[] = [];
    if (Buffer.isBuffer(data)) chunks.push(data);
    else for await (const c of data) chunks.push(Buffer.from(c as Buffer));
    const bytes = Buffer.concat(chunks);
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (options.sha256 && options.sha256 !== sha) throw new Error(`sha256 mismatch for ${remotePath}`);
    mkdirSync(dirname(remotePath), { recursive: true });
    writeFileSync(`${remotePath}.tmp`, bytes);
    chmodSync(`${remotePath}.tmp`, options.mode ?? 0o644);
    renameSync(`${remotePath}.tmp`, remotePath);
    this.uploads.push(remotePath);
  }

  openUnixSocket(path: string): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  }

  async openTcp(): Promise<Duplex> {
    throw new Error('not used');
  }

  close(): void {}
}

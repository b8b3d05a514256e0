/** An OpenSSH-style ProxyCommand: a child process whose stdio carries the SSH connection. */
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import { substituteProxyCommand } from './shell.ts';

export interface ProxyChannel {
  /** Pass as ssh2's `sock`. */
  stream: Duplex;
  /** The command line after substitution. */
  command: string;
  /** The last few KB the command wrote to stderr (for error messages). */
  stderr(): string;
  /** How the command ended, once it has ("exit code 1", "signal SIGTERM"), else undefined. */
  exit(): string | undefined;
  /** Settles once the command has ended and its stderr is read to the end. */
  closed: Promise<void>;
  kill(): void;
}

const STDERR_KEEP = 4096;

export function spawnProxyCommand(template: string, host: string, port: number, user: string): ProxyChannel {
  const command = substituteProxyCommand(template, host, port, user);
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let exit: string | undefined;
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
  });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };

  const send = (chunks: Buffer[], cb: () => void): void => {
    const stdin = child.stdin;
    if (stdin.destroyed || !stdin.writable) {
      cb();
      return;
    }
    stdin.cork();
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) stdin.write(chunks[i]);
    stdin.write(chunks[last], () => cb());
    stdin.uncork();
  };

  const stream = new Duplex({
    read() {
      child.stdout.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      send([chunk], cb);
    },
    // ssh2 writes one packet at a time; those queued meanwhile go to the pipe in one writev.
    writev(chunks, cb) {
      send(
        chunks.map((c) => c.chunk as Buffer),
        cb,
      );
    },
    final(cb) {
      child.stdin.end();
      cb();
    },
    destroy(err, cb) {
      kill();
      cb(err);
    },
  });
  child.stdin.on('error', () => undefined); // EPIPE when the command died: reported through its exit
  child.stdout.on('data', (chunk: Buffer) => {
    if (!stream.push(chunk)) child.stdout.pause();
  });
  child.stdout.on('end', () => stream.push(null));
  child.on('error', (err) => stream.destroy(err));
  child.on('exit', (code, signal) => {
    exit = signal ? `signal ${signal}` : `exit code ${code}`;
  });
  const closed = new Promise<void>((resolve) => {
    child.on('close', () => {
      if (!stream.destroyed) stream.destroy();
      resolve();
    });
  });
  return { stream, command, stderr: () => stderr.trim(), exit: () => exit, kill, closed };
}

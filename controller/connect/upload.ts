/**
 * File upload: streamed into `cat` on the host (faster than ssh2's SFTP, and it runs as root through
 * sudo like every other command), written to a temporary name next to the destination, verified by
 * sha256 on the host, then renamed into place with its mode.
 * Measured on loopback with 30 MB: cat + sha256sum + mv 0.43-0.57 s; ssh2 SFTP write alone 2.1-2.7 s.
 * The host hashes the bytes as they arrive (tee | sha256sum), so the check costs no second read.
 */
import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { TskvError } from '../errors.ts';
import { shellQuote } from '../render/shell-quote.ts';
import { chunked } from '../run/transfer.ts';
import type { ExecResult, UploadOptions } from './types.ts';

export interface CommandRunner {
  readonly host: string;
  run(
    command: string,
    options: { stdin?: string | Buffer | Readable; step?: string; root?: boolean },
  ): Promise<ExecResult>;
}

/** The same bytes pushed to many hosts are hashed once. */
const bufferHashes = new WeakMap<Buffer, string>();

function sha256Of(data: Buffer): string {
  let hex = bufferHashes.get(data);
  if (hex === undefined) {
    hex = createHash('sha256').update(data).digest('hex');
    bufferHashes.set(data, hex);
  }
  return hex;
}

/**
 * `input` until `signal` aborts, then its end: the host's command sees the end of its input and
 * finishes, so the upload can remove the partial file itself (closing the channel would leave it).
 */
function stoppable(input: Buffer | Readable, signal: AbortSignal): Readable {
  const source = Buffer.isBuffer(input) ? chunked(input) : input;
  const gate = new PassThrough();
  const stop = () => {
    source.unpipe(gate);
    gate.end();
  };
  source.on('error', (err) => gate.destroy(err));
  source.pipe(gate);
  if (signal.aborted) stop();
  else {
    signal.addEventListener('abort', stop, { once: true });
    gate.once('close', () => signal.removeEventListener('abort', stop));
  }
  return gate;
}

export async function uploadFile(
  conn: CommandRunner,
  data: Buffer | NodeJS.ReadableStream,
  remotePath: string,
  options: UploadOptions = {},
): Promise<void> {
  const step = options.step ?? `upload ${remotePath}`;
  if (!remotePath.startsWith('/')) {
    throw new TskvError('E_UPLOAD', `upload needs an absolute path, got ${remotePath}`, {
      host: conn.host,
      step,
    });
  }
  const { signal } = options;
  const stopped = () =>
    new TskvError(
      'E_UPLOAD',
      `stopped before it ended (${String(signal?.reason?.message ?? signal?.reason)})`,
      {
        host: conn.host,
        step,
      },
    );
  if (signal?.aborted) throw stopped();
  const tmp = `${remotePath}.tskv-${randomBytes(6).toString('hex')}.tmp`;
  const mode = (options.mode ?? 0o644).toString(8);
  const hash = createHash('sha256');
  let bytes = 0;
  let input: Buffer | Readable;
  if (Buffer.isBuffer(data)) {
    bytes = data.length;
    input = data;
  } else {
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        bytes += chunk.length;
        cb(null, chunk);
      },
    });
    (data as Readable).on('error', (err) => hashing.destroy(err));
    input = (data as Readable).pipe(hashing);
  }
  const { meter } = options;
  if (meter) {
    // In views, so that the meter follows the channel's window rather than seeing it all at once.
    const source = Buffer.isBuffer(input) ? chunked(input) : input;
    const counting = meter.counter();
    source.on('error', (err) => counting.destroy(err));
    input = source.pipe(counting);
  }
  const gate = signal && stoppable(input, signal);
  if (gate) input = gate;
  const fail = async (message: string, stderr = ''): Promise<never> => {
    meter?.fail();
    await conn.run(`rm -f ${shellQuote(tmp)}`, { step }).catch(() => undefined);
    if (signal?.aborted) throw stopped();
    const detail = stderr.trim() ? `: ${stderr.trim()}` : '';
    throw new TskvError('E_UPLOAD', `${message}${detail}`, { host: conn.host, step });
  };

  const write = await conn
    .run(
      // Hashed as it arrives (tee), not read back afterwards: a second pass over 34 MB cost ~0.3 s a
      // host. The file's size then shows that tee wrote all of what was hashed.
      `mkdir -p ${shellQuote(posix.dirname(remotePath))} && umask 077 && tee ${shellQuote(tmp)} | sha256sum && stat -c %s ${shellQuote(tmp)}`,
      { stdin: input, step },
    )
    .catch((err: unknown) => {
      meter?.fail();
      throw err;
    })
    // Its stop listener goes with it, also when the host never read it all.
    .finally(() => gate?.destroy());
  // Stopped: the host has only part of it (fail removes it and says it was stopped).
  if (signal?.aborted) await fail('stopped');
  if (write.code !== 0) await fail(`writing ${tmp} failed (exit code ${write.code})`, write.stderr);
  meter?.end();
  const [hashLine = '', sizeLine = ''] = write.stdout.trim().split('\n');
  const written = hashLine.split(/\s+/)[0] ?? '';
  // A stream is hashed as it is sent; a Buffer (the same one for every host) once.
  const sent = Buffer.isBuffer(data) ? sha256Of(data) : hash.digest('hex');
  const expected = options.sha256?.toLowerCase() ?? sent;
  if (written !== expected || sent !== expected) {
    await fail(
      `sha256 mismatch for ${remotePath}: expected ${expected}, sent ${sent}, the host has ${written || 'nothing'}`,
    );
  }
  if (Number(sizeLine) !== bytes) {
    await fail(`${tmp} has ${sizeLine || 'no'} bytes on the host, ${bytes} were sent`, write.stderr);
  }
  const place = await conn.run(
    `chmod ${mode} ${shellQuote(tmp)} && mv -f ${shellQuote(tmp)} ${shellQuote(remotePath)}`,
    {
      step,
    },
  );
  if (place.code !== 0) await fail(`moving ${tmp} into place failed (exit code ${place.code})`, place.stderr);
}

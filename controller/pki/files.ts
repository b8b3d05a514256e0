/**
 * The PKI directory's files as the controller reads and writes them: never through a symlink,
 * written whole (a temporary file renamed into place), and refused when their modes let other
 * users read a key or replace a certificate.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, readlink, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { describeCause, InputError } from '../errors.ts';
import { CERT_MODE, DIR_MODE, KEY_MODE } from './layout.ts';

/** A private key; a certificate; a revocation list; the record of a rotation in progress. */
export type PkiFileKind = 'key' | 'cert' | 'crl' | 'state';

const MODES: Record<PkiFileKind, number> = {
  key: KEY_MODE,
  cert: CERT_MODE,
  crl: CERT_MODE,
  state: CERT_MODE,
};

const MAX_PEM_BYTES = 64 * 1024;

const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

function cannot(what: string, path: string, err: unknown): InputError {
  return new InputError(`cannot ${what} ${path}: ${describeCause(err)}`, {
    step: 'pki',
    fix: `make ${path} readable and writable by the user running tskv (it is the controller's PKI directory)`,
    cause: err,
  });
}

/** A 0700 directory at `path`, made when missing (with its parents); refused if others can enter it. */
export async function ensurePrivateDir(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode: DIR_MODE });
  } catch (err) {
    throw cannot('create the directory', path, err);
  }
  const info = await lstat(path).catch((err) => {
    throw cannot('read', path, err);
  });
  if (!info.isDirectory()) {
    throw new InputError(`${path} is not a directory`, {
      step: 'pki',
      fix: `move ${path} aside, or point tls.dir elsewhere`,
    });
  }
  if (info.mode & 0o077) {
    throw new InputError(
      `${path} is open to group or others (mode ${octal(info.mode)}): the PKI directory holds the CA key`,
      { step: 'pki', fix: `chmod 700 ${path}` },
    );
  }
}

/**
 * A key or certificate file's text, or undefined when it does not exist. A key that group or
 * others can read, or a certificate they can write, is refused.
 */
export async function readPkiFile(path: string, kind: PkiFileKind): Promise<string | undefined> {
  let file: { content: string; mode: number } | undefined;
  try {
    file = await readNoFollow(path);
  } catch (err) {
    if (err instanceof SymlinkError) {
      throw new InputError(`cannot read ${path}: ${err.message}`, {
        step: 'pki',
        fix: `name the file itself, not a symlink to it (${path} points to ${err.target}): a link could be changed to hand etcd another key`,
        cause: err,
      });
    }
    throw cannot('read', path, err);
  }
  if (file === undefined) return undefined;
  const isKey = kind === 'key';
  if (file.mode & (isKey ? 0o077 : 0o022)) {
    const what = isKey
      ? 'a private key readable'
      : `a ${kind === 'cert' ? 'certificate' : 'file of the PKI'} writable`;
    throw new InputError(`${path} is ${what} by group or others (mode ${octal(file.mode)})`, {
      step: 'pki',
      fix: `chmod ${octal(MODES[kind]).slice(1)} ${path}${isKey ? ' (and consider the key exposed)' : ''}`,
    });
  }
  return file.content;
}

class SymlinkError extends Error {
  readonly target: string;

  constructor(target: string, cause: unknown) {
    super('it is a symlink', { cause });
    this.target = target;
  }
}

/** A regular file's text and mode, never through a symlink; undefined when nothing is there. */
async function readNoFollow(path: string): Promise<{ content: string; mode: number } | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') throw new SymlinkError(await readlink(path).catch(() => '?'), err);
    throw err;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error('it is not a regular file');
    if (info.size > MAX_PEM_BYTES) throw new Error(`it is over ${MAX_PEM_BYTES} bytes`);
    return { content: await handle.readFile('utf8'), mode: info.mode & 0o777 };
  } finally {
    await handle.close();
  }
}

/**
 * Write `content` to a new file beside `path` with `mode`, flushed to disk, and return its name.
 * (The agent has the same for host files; the controller shares only agent/api with it.)
 */
async function writeTemp(path: string, content: string, mode: number): Promise<string> {
  const temp = join(dirname(path), `.${basename(path)}.tskv-${randomBytes(4).toString('hex')}`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.chmod(mode); // the umask narrowed the mode given to open()
    await handle.sync();
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  } finally {
    await handle.close();
  }
  return temp;
}

/** Replace `path` whole with `content`, with its kind's mode: readers see the old file or the new one. */
export async function writePkiFile(path: string, content: string, kind: PkiFileKind): Promise<void> {
  try {
    const temp = await writeTemp(path, content, MODES[kind]);
    await rename(temp, path).catch(async (err) => {
      await unlink(temp).catch(() => {});
      throw err;
    });
  } catch (err) {
    throw cannot('write', path, err);
  }
}

/** Create `path` whole with `content` unless something is there already: false then. */
export async function createPkiFileExclusive(
  path: string,
  content: string,
  kind: PkiFileKind,
): Promise<boolean> {
  let temp: string | undefined;
  try {
    temp = await writeTemp(path, content, MODES[kind]);
    await link(temp, path); // unlike rename, never replaces an existing file
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw cannot('write', path, err);
  } finally {
    if (temp) await unlink(temp).catch(() => {});
  }
}

/** Remove `path` (nothing there is fine). */
export async function removePkiFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw cannot('remove', path, err);
  }
}

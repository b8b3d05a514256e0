import { open } from 'node:fs/promises';

const CHUNK = 64 * 1024;

/** The last `count` lines of a text file (read backwards in chunks); [] when the file is missing. */
export async function tailLines(path: string, count: number): Promise<string[]> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const size = (await handle.stat()).size;
    let position = size;
    let buffer = Buffer.alloc(0);
    const newlines = () => buffer.reduce((n, byte) => n + (byte === 10 ? 1 : 0), 0);
    while (position > 0 && newlines() <= count) {
      const length = Math.min(CHUNK, position);
      position -= length;
      const chunk = Buffer.alloc(length);
      await handle.read(chunk, 0, length, position);
      buffer = Buffer.concat([chunk, buffer]);
    }
    const lines = buffer.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    if (position > 0) lines.shift(); // the first line may be cut
    return lines.slice(-count);
  } finally {
    await handle.close();
  }
}

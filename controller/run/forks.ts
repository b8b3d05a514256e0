/**
 * --forks N: how many hosts a run connects to, pushes to and starts agents on at once. The rest
 * wait their turn (shown pending). Only this bounded per-host work is limited: steps where hosts
 * wait on each other (members starting together) are not.
 *
 * Default: 4 per CPU, at least 8 and at most 32 (8 on a 2-core laptop). The controller's share of
 * a host's connection is CPU for the SSH handshake and encryption, a few ms and a few % of a core
 * per host; what limits pushes is the link, which parallel pushes share: beyond a handful at once
 * each one only goes slower (and a slow push is the one whose keepalive suffers), while fewer than
 * 8 would queue the 3-7 host clusters that today run side by side. Ansible's 5 is tuned for one
 * Python process per host, which tskv does not have.
 */
import { availableParallelism } from 'node:os';
import { ChannelLimiter } from '../connect/channel-limiter.ts';
import { InputError } from '../errors.ts';

export function defaultForks(cpus = availableParallelism()): number {
  return Math.min(32, Math.max(8, 4 * cpus));
}

let chosen: number | undefined;

/** The run's limit: --forks, else the default. */
export function forks(): number {
  return chosen ?? defaultForks();
}

/** Sets the run's limit (undefined: the default). */
export function setForks(n: number | undefined): void {
  chosen = n;
}

export const FORKS_USAGE = `--forks N     at most N hosts connected to and pushed to at once (default 4 per CPU, 8 to 32: ${defaultForks()} here)`;

/** A --forks value: a whole number of at least 1, else an InputError saying so. */
export function parseForks(text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || !/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
    throw new InputError(`--forks needs a whole number of at least 1, got '${text ?? ''}'`, {
      fix: `e.g. --forks ${defaultForks()}`,
    });
  }
  return n;
}

/**
 * Takes --forks N (or --forks=N) out of a command line, wherever it is before `--` (after it the
 * words are another program's).
 */
export function takeForks(argv: string[]): { argv: string[]; forks: number | undefined } {
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  const rest: string[] = [];
  let found: number | undefined;
  for (let i = 0; i < end; i++) {
    const word = argv[i]!;
    if (word === '--forks') {
      found = parseForks(argv[++i]);
    } else if (word.startsWith('--forks=')) {
      found = parseForks(word.slice('--forks='.length));
    } else rest.push(word);
  }
  return { argv: [...rest, ...argv.slice(end)], forks: found };
}

/** `work` for each item, at most `limit` at once, in order; each promise settles as its work does. */
export function eachBounded<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R>[] {
  const slots = new ChannelLimiter(limit);
  return items.map(async (item) => {
    const release = await slots.acquire();
    try {
      return await work(item);
    } finally {
      release();
    }
  });
}

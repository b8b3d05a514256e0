/**
 * A slow link between the controller and the lab (issue 16, "Measure it first"): a token bucket
 * (`tc qdisc ... tbf`) on the egress of the lab bridge's own interface, br0, inside the lab's
 * bridge namespace. Every byte the controller sends to a host leaves through br0: tskv's and
 * Ansible's SSH connections both go through the lab's proxy command (`nsenter --net=<bridge
 * namespace> socat ... TCP:host:port`), so they start in that namespace and are routed out of
 * br0. Traffic between hosts is bridged port to port and never passes br0's queue, so it stays
 * unshaped, as a LAN behind a VPN would be. Only the download direction of the controller's link
 * (controller to hosts) is shaped; `netem` (latency) is not in these machines' kernels.
 *
 * Every command here names the lab's namespace (`tc -n` / `ip -n`), and refuses any other, so the
 * machine's own interfaces, queues and routes are never touched.
 */
import { run, runOk } from '../../lab/run.ts';

const DEVICE = 'br0';
const UNITS: Record<string, number> = { kbit: 1e3, mbit: 1e6, gbit: 1e9 };

/** A link rate as the bench's `--shape` takes it: `20mbit`, `100mbit`, or `none` (unshaped). */
export interface LinkRate {
  /** As given (`20mbit`), or `unshaped`. */
  label: string;
  /** Bits per second; undefined for an unshaped link. */
  bitsPerSecond: number | undefined;
}

/** `20mbit`, `500kbit`, `1gbit` or `none`; throws a plain message for anything else. */
export function parseLinkRate(text: string): LinkRate {
  const t = text.trim().toLowerCase();
  if (t === 'none' || t === 'unshaped') return { label: 'unshaped', bitsPerSecond: undefined };
  const m = /^(\d+(?:\.\d+)?)(kbit|mbit|gbit)$/.exec(t);
  const bits = m ? Number(m[1]) * UNITS[m[2]!]! : Number.NaN;
  if (!m || !(bits >= 64_000)) {
    throw new Error(`a link rate is like 20mbit, 100mbit, 500kbit or none (at least 64kbit), not '${text}'`);
  }
  return { label: t, bitsPerSecond: bits };
}

/**
 * The tbf's arguments: the rate, a bucket of 20 ms at that rate (at least 64 KB, so a 64 KB TSO
 * segment passes whole at any timer frequency), and up to 100 ms of queue before it drops.
 */
export function tbfArgs(bitsPerSecond: number): string[] {
  const burst = Math.max(64 * 1024, Math.ceil(bitsPerSecond / 8 / 50));
  return ['tbf', 'rate', `${Math.round(bitsPerSecond)}bit`, 'burst', `${burst}b`, 'latency', '100ms'];
}

/** Only a lab's bridge namespace (`tskv-<lab>.net`, see lab/names.ts) is ever shaped or read. */
function labNetns(netns: string): string {
  if (!/^tskv-[a-z0-9-]+\.net$/.test(netns)) {
    throw new Error(`refusing to shape '${netns}': not a lab's bridge namespace`);
  }
  return netns;
}

/** Puts the tbf on br0 (replacing what is there); an unshaped rate removes it. */
export async function shapeLink(netns: string, rate: LinkRate): Promise<void> {
  if (rate.bitsPerSecond === undefined) return unshapeLink(netns);
  const ns = labNetns(netns);
  await runOk('tc', ['-n', ns, 'qdisc', 'replace', 'dev', DEVICE, 'root', ...tbfArgs(rate.bitsPerSecond)]);
  const shown = await runOk('tc', ['-n', ns, '-j', 'qdisc', 'show', 'dev', DEVICE]);
  if (shapedRate(shown) === undefined) throw new Error(`no tbf on ${DEVICE} in ${ns} after adding it`);
}

/** Removes the tbf from br0; nothing to do when the namespace (the lab) is already gone. */
export async function unshapeLink(netns: string): Promise<void> {
  const ns = labNetns(netns);
  const shown = await run('tc', ['-n', ns, '-j', 'qdisc', 'show', 'dev', DEVICE]);
  if (shown.code !== 0 || shapedRate(shown.stdout) === undefined) return;
  await runOk('tc', ['-n', ns, 'qdisc', 'del', 'dev', DEVICE, 'root']);
}

/** The root tbf's rate in bits per second from `tc -j qdisc show`; undefined when there is none. */
export function shapedRate(tcJson: string): number | undefined {
  const list = parseJsonArray(tcJson);
  const tbf = list.find((q) => q['kind'] === 'tbf' && q['root'] === true);
  const options = tbf?.['options'] as Record<string, unknown> | undefined;
  const bytesPerSecond = options?.['rate'];
  return typeof bytesPerSecond === 'number' ? bytesPerSecond * 8 : undefined;
}

/** br0's transmitted bytes from `ip -s -j link show br0` (all the controller sent into the lab). */
export function parseTxBytes(ipJson: string): number {
  const link = parseJsonArray(ipJson)[0];
  const stats = link?.['stats64'] as { tx?: { bytes?: unknown } } | undefined;
  const bytes = stats?.tx?.bytes;
  if (typeof bytes !== 'number') throw new Error(`no transmit byte counter in: ${ipJson.slice(0, 200)}`);
  return bytes;
}

function parseJsonArray(text: string): Record<string, unknown>[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? (v as Record<string, unknown>[]) : [];
  } catch {
    return [];
  }
}

/** The bytes the controller has sent into the lab so far (br0's counter; read before and after a run). */
export async function sentBytes(netns: string): Promise<number> {
  const r = await runOk('ip', ['-n', labNetns(netns), '-s', '-j', 'link', 'show', DEVICE]);
  return parseTxBytes(r);
}

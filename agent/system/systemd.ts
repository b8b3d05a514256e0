import { existsSync } from 'node:fs';
import { type CommandResult, runCommand } from './run.ts';

/** systemd is the init system (what sd_booted() checks). */
export function systemdRunning(): boolean {
  return existsSync('/run/systemd/system');
}

export function systemctl(args: string[], timeoutMs = 25_000): Promise<CommandResult> {
  return runCommand('systemctl', args, timeoutMs);
}

/** Run systemctl and throw with its own words when it fails. */
export async function systemctlOk(args: string[], timeoutMs?: number): Promise<string> {
  const r = await systemctl(args, timeoutMs);
  if (r.code !== 0) {
    throw new Error(`systemctl ${args.join(' ')} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
  return r.stdout;
}

export interface UnitStatus {
  activeState: string;
  subState: string;
  /** Automatic restarts since the unit was last started by hand (NRestarts). */
  restarts: number;
  /** How the last run ended when it did not succeed ("exit-code, status 1"), else undefined. */
  lastExit: string | undefined;
  mainPid: number;
  /** Wall clock ms when the main process started; null when none runs. */
  startedAtMs: number | null;
}

/** Parse `systemctl show` output (the properties unitStatus asks for). */
export function parseUnitShow(text: string, monotonicNowUs: bigint, wallNowMs: number): UnitStatus {
  const values = new Map(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()] as [string, string]),
  );
  const mainPid = Number(values.get('MainPID') ?? 0) || 0;
  const startUs = BigInt(values.get('ExecMainStartTimestampMonotonic') || '0');
  const startedAtMs =
    mainPid > 0 && startUs > 0n ? wallNowMs - Number(monotonicNowUs - startUs) / 1000 : null;
  const result = values.get('Result') ?? 'success';
  const status = values.get('ExecMainStatus') ?? '0';
  return {
    activeState: values.get('ActiveState') ?? 'unknown',
    subState: values.get('SubState') ?? 'unknown',
    restarts: Number(values.get('NRestarts') ?? 0) || 0,
    lastExit: result === 'success' ? undefined : `${result}${status !== '0' ? `, status ${status}` : ''}`,
    mainPid,
    startedAtMs,
  };
}

export async function unitStatus(unit: string): Promise<UnitStatus> {
  const out = await systemctlOk([
    'show',
    unit,
    '-p',
    'MainPID',
    '-p',
    'ActiveState',
    '-p',
    'SubState',
    '-p',
    'NRestarts',
    '-p',
    'Result',
    '-p',
    'ExecMainStatus',
    '-p',
    'ExecMainStartTimestampMonotonic',
  ]);
  // Node's hrtime is CLOCK_MONOTONIC, the clock systemd's *Monotonic timestamps use.
  return parseUnitShow(out, process.hrtime.bigint() / 1000n, Date.now());
}

/** One journal entry as `journalctl -o json` prints it (the fields read here). */
interface JournalEntry {
  MESSAGE?: unknown;
  PRIORITY?: unknown;
  SYSLOG_IDENTIFIER?: unknown;
}

/** syslog's "err": etcd's capnslog logs its "C" and "E" levels as crit and err to the journal. */
const ERR_PRIORITY = 3;

/**
 * The message of the most severe entry (err or worse) the unit's own program logged in `jsonLines`
 * (`journalctl -o json`), the latest of equals; systemd's lines about the unit do not count. In the
 * journal capnslog's "C |" / "E |" markers become priorities, so the text alone does not say it.
 */
export function mostSevereMessage(jsonLines: string): string | undefined {
  let best: { priority: number; message: string } | undefined;
  for (const line of jsonLines.split('\n')) {
    let entry: JournalEntry;
    try {
      entry = JSON.parse(line) as JournalEntry;
    } catch {
      continue;
    }
    const priority = Number(entry.PRIORITY);
    if (typeof entry.MESSAGE !== 'string' || !Number.isInteger(priority) || priority > ERR_PRIORITY) continue;
    if (entry.SYSLOG_IDENTIFIER === 'systemd') continue;
    if (!best || priority <= best.priority) best = { priority, message: entry.MESSAGE.trim() };
  }
  return best?.message;
}

/** The most severe message of the unit's program among its last `lines` journal entries (see mostSevereMessage). */
export async function journalCause(unit: string, lines: number): Promise<string | undefined> {
  const r = await runCommand(
    'journalctl',
    [
      '-u',
      unit,
      '-n',
      String(lines),
      '--no-pager',
      '-o',
      'json',
      '--output-fields=MESSAGE,PRIORITY,SYSLOG_IDENTIFIER',
    ],
    15_000,
  );
  return r.code === 0 ? mostSevereMessage(r.stdout) : undefined;
}

/** The last `lines` journal lines of a unit. */
export async function journalTail(unit: string, lines: number): Promise<string[]> {
  const r = await runCommand('journalctl', ['-u', unit, '-n', String(lines), '--no-pager'], 15_000);
  if (r.code !== 0) throw new Error(`journalctl -u ${unit} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/**
 * System-bus method calls through `dbus-send --print-reply` (shipped with dbus, which firewalld
 * needs), and a parser of its reply format. A D-Bus call costs a few ms where firewall-cmd costs a
 * Python start (~0.3-0.8 s), which dominates a no-op run.
 */
import { runCommand } from './run.ts';

export type DbusValue = string | number | boolean | DbusValue[] | { [key: string]: DbusValue };

const SCALAR =
  /^(string|object path|signature|int16|uint16|int32|uint32|int64|uint64|double|byte|boolean) (.*)$/;

/** Parses the body of a `--print-reply` answer (the lines after "method return ..."). */
export function parseDbusReply(text: string): DbusValue[] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('method return'));
  let i = 0;

  function scalar(kind: string, raw: string): DbusValue {
    if (kind === 'string' || kind === 'object path' || kind === 'signature') {
      // One value per line: the string runs to the last quote on it.
      return raw.slice(raw.indexOf('"') + 1, raw.lastIndexOf('"'));
    }
    if (kind === 'boolean') return raw === 'true';
    return Number(raw);
  }

  function value(head: string): DbusValue {
    const v = /^variant\s+(.*)$/.exec(head);
    if (v) return value(v[1]!);
    const s = SCALAR.exec(head);
    if (s) return scalar(s[1]!, s[2]!.trim());
    if (head === 'array [' || head === 'struct {') return list(head === 'array [' ? ']' : '}');
    if (head === 'array [ ]' || head === 'array []') return [];
    throw new Error(`unexpected dbus-send output: ${head}`);
  }

  function list(close: string): DbusValue {
    const items: DbusValue[] = [];
    const dict: Record<string, DbusValue> = {};
    let isDict = false;
    while (i < lines.length) {
      const line = lines[i++]!;
      if (line === close) break;
      if (line === 'dict entry(') {
        isDict = true;
        const key = value(lines[i++]!);
        dict[String(key)] = value(lines[i++]!);
        if (lines[i] === ')') i++;
        continue;
      }
      items.push(value(line));
    }
    return isDict ? dict : items;
  }

  const out: DbusValue[] = [];
  while (i < lines.length) out.push(value(lines[i++]!));
  return out;
}

export interface DbusCall {
  dest: string;
  path: string;
  method: string;
  /** dbus-send typed arguments, e.g. "string:public". */
  args?: string[];
}

/** The dbus-send command line (after `dbus-send`) for one method call. */
export function dbusSendArgs(call: DbusCall): string[] {
  return ['--system', '--print-reply', `--dest=${call.dest}`, call.path, call.method, ...(call.args ?? [])];
}

/** Calls a method on the system bus; undefined when dbus-send is missing or the call fails. */
export async function dbusCall(call: DbusCall, run = runCommand): Promise<DbusValue[] | undefined> {
  const r = await run('dbus-send', dbusSendArgs(call), 5000);
  if (r.code !== 0) return undefined;
  try {
    return parseDbusReply(r.stdout);
  } catch {
    return undefined;
  }
}

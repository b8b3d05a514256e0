import type { DbusCall, DbusValue } from '../../../../agent/system/dbus.ts';

/** A host without a system bus: firewalld is asked through firewall-cmd. */
export const noBus = async (): Promise<never> => {
  throw new Error('connect ENOENT /var/run/dbus/system_bus_socket');
};

/** A system bus answering from a table keyed by "path method args..."; records every call. */
export function fakeBus(answers: Record<string, DbusValue[] | Error>) {
  const calls: string[] = [];
  const bus = async (call: DbusCall): Promise<DbusValue[]> => {
    const key = [call.path, call.method, ...(call.args ?? []).map((a) => a.slice(a.indexOf(':') + 1))].join(
      ' ',
    );
    calls.push(key);
    const found = Object.entries(answers).find(([k]) => key.startsWith(k))?.[1];
    if (found === undefined) throw new Error(`unexpected D-Bus call ${key}`);
    if (found instanceof Error) throw found;
    return found;
  };
  return { bus, calls };
}

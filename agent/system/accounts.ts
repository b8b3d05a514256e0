/** The host's users and groups: lookups (getent, so NSS counts), and making system accounts. */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { runCommand } from './run.ts';

export interface UserEntry {
  name: string;
  uid: number;
  /** Its primary group. */
  gid: number;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
}

/** One passwd line (name:x:uid:gid:gecos:home:shell), or null. */
export function parsePasswdLine(line: string): UserEntry | null {
  const f = line.trim().split(':');
  if (f.length < 7) return null;
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (!f[0] || !Number.isInteger(uid) || !Number.isInteger(gid) || f[2] === '' || f[3] === '') return null;
  return { name: f[0], uid, gid, home: f[5] ?? '', shell: f[6] ?? '' };
}

/** One group line (name:x:gid:members), or null. */
export function parseGroupLine(line: string): GroupEntry | null {
  const f = line.trim().split(':');
  const gid = Number(f[2]);
  if (f.length < 3 || !f[0] || f[2] === '' || !Number.isInteger(gid)) return null;
  return { name: f[0], gid };
}

/** The line of /etc/passwd or /etc/group whose name (or numeric id) is `key`, or null. */
async function fromFile(database: 'passwd' | 'group', key: string): Promise<string | null> {
  const file = database === 'passwd' ? '/etc/passwd' : '/etc/group';
  const lines = (await readFile(file, 'utf8').catch(() => '')).split('\n');
  const field = /^\d+$/.test(key) ? 2 : 0;
  return lines.find((l) => l.split(':')[field] === key) ?? null;
}

/**
 * One entry: the local files first (no process to start: facts ask on every call), then getent
 * for what they lack (accounts from NSS: LDAP, sssd).
 */
async function getent(database: 'passwd' | 'group', key: string): Promise<string | null> {
  const local = await fromFile(database, key);
  if (local !== null) return local;
  const r = await runCommand('getent', [database, key], 5_000);
  if (r.code === 0) return r.stdout.split('\n')[0] ?? null;
  if (r.code === 2 || r.notFound) return null; // not found, or no getent (a minimal image)
  throw new Error(`getent ${database} ${key} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
}

/** A user by name or uid, or null when there is none. */
export async function lookupUser(nameOrUid: string | number): Promise<UserEntry | null> {
  const line = await getent('passwd', String(nameOrUid));
  return line === null ? null : parsePasswdLine(line);
}

/** A group by name or gid, or null when there is none. */
export async function lookupGroup(nameOrGid: string | number): Promise<GroupEntry | null> {
  const line = await getent('group', String(nameOrGid));
  return line === null ? null : parseGroupLine(line);
}

/** "user:group" for a uid and gid: names where the host has them, else the numbers. */
export async function ownerName(uid: number, gid: number): Promise<string> {
  const [user, group] = await Promise.all([
    lookupUser(uid).catch(() => null),
    lookupGroup(gid).catch(() => null),
  ]);
  return `${user?.name ?? uid}:${group?.name ?? gid}`;
}

/** A user's name, else the uid as text. */
export async function userName(uid: number): Promise<string> {
  return (await lookupUser(uid).catch(() => null))?.name ?? String(uid);
}

/** The real uid a process runs as (/proc/PID/status), or undefined when it is gone. */
export async function processUid(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    return uid === undefined ? undefined : Number(uid);
  } catch {
    return undefined;
  }
}

/** The user a process runs as (a name, else its uid), or undefined when it is gone. */
export async function processUser(pid: number): Promise<string | undefined> {
  const uid = await processUid(pid);
  return uid === undefined ? undefined : userName(uid);
}

/** The first uid of ordinary (login) users: UID_MIN in /etc/login.defs, 1000 when it says nothing. */
export function parseUidMin(loginDefs: string): number {
  const m = /^\s*UID_MIN\s+(\d+)\s*$/m.exec(loginDefs);
  return m ? Number(m[1]) : 1000;
}

export async function uidMin(): Promise<number> {
  return parseUidMin(await readFile('/etc/login.defs', 'utf8').catch(() => ''));
}

/** The shell of accounts nobody logs in to. */
export function noLoginShell(): string {
  return ['/usr/sbin/nologin', '/sbin/nologin'].find((p) => existsSync(p)) ?? '/bin/false';
}

async function runOk(file: string, args: string[]): Promise<void> {
  const r = await runCommand(file, args, 30_000);
  if (r.code !== 0) {
    throw new Error(
      `${file} ${args.join(' ')} failed: ${r.notFound ? 'not found' : r.stderr.trim() || `exit ${r.code}`}`,
    );
  }
}

export function addSystemGroup(name: string): Promise<void> {
  return runOk('groupadd', ['--system', name]);
}

/** A system account: no login shell, `home` recorded but not created, primary group `group`. */
export function addSystemUser(name: string, group: string, home: string, comment: string): Promise<void> {
  return runOk('useradd', [
    '--system',
    '--gid',
    group,
    '--home-dir',
    home,
    '--no-create-home',
    '--shell',
    noLoginShell(),
    '--comment',
    comment,
    name,
  ]);
}

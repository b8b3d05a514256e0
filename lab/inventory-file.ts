/**
 * The lab's inventory as plain data (the format of issue 2, read by controller/inventory) and its
 * YAML text. Variants for tests are the same document with overrides merged in (null deletes).
 */
import type { FlagValue, HostKeyPolicy } from '../controller/inventory/model.ts';

export interface LabSshDoc {
  user?: string;
  port?: number;
  identityFile?: string;
  knownHosts?: string;
  hostKeyPolicy?: HostKeyPolicy;
  proxyCommand?: string;
  proxyJump?: string;
  connectTimeout?: number;
}

export interface LabInventoryDoc {
  cluster: { token: string; clientPort?: number; peerPort?: number; clientSources?: string[] };
  etcd: {
    version: string;
    source: string;
    sha256?: string;
    fetch?: 'controller' | 'host';
    flags?: Record<string, FlagValue>;
    dataDir?: string;
  };
  ssh: LabSshDoc;
  snapshots?: { keep?: number };
  hosts: Record<
    string,
    {
      address: string;
      ssh?: LabSshDoc;
      dataDir?: string;
      tls?: { cert: string; key: string; peerCert?: string; peerKey?: string };
    }
  >;
  tls?: {
    mode?: 'auto' | 'files' | 'off';
    dir?: string;
    ca?: string;
    client?: { cert: string; key: string };
  };
}

/** Deep overrides: objects merge, any other value replaces, null removes the key. */
export type Overrides<T> = { [K in keyof T]?: (T[K] extends object ? Overrides<T[K]> : T[K]) | null };
export type InventoryOverrides = Overrides<LabInventoryDoc> & {
  hosts?: Record<string, Overrides<LabInventoryDoc['hosts'][string]> | null>;
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function mergeOverrides<T>(base: T, overrides: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(overrides)) return (overrides ?? base) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === null) delete out[key];
    else if (value !== undefined)
      out[key] = isPlainObject(out[key]) ? mergeOverrides(out[key], value) : value;
  }
  return out as T;
}

function scalar(v: unknown): string {
  if (typeof v === 'string')
    return /^[A-Za-z0-9_./@:-]+$/.test(v) && !/^(true|false|null|yes|no|~)$/i.test(v) && !/^[\d.:-]/.test(v)
      ? v
      : JSON.stringify(v);
  return String(v);
}

/** Block-style YAML for nested maps of scalars and lists of them (strings quoted whenever YAML could misread them). */
export function toYaml(doc: Record<string, unknown>, indent = ''): string {
  let out = '';
  for (const [key, value] of Object.entries(doc)) {
    if (value === undefined) continue;
    const k = scalar(key);
    if (isPlainObject(value)) {
      out +=
        Object.keys(value).length === 0
          ? `${indent}${k}: {}\n`
          : `${indent}${k}:\n${toYaml(value, `${indent}  `)}`;
    } else if (Array.isArray(value)) {
      out += `${indent}${k}: [${value.map(scalar).join(', ')}]\n`;
    } else {
      out += `${indent}${k}: ${scalar(value)}\n`;
    }
  }
  return out;
}

export function inventoryText(doc: LabInventoryDoc, labName: string): string {
  const header =
    `# Written by 'tskv lab up' for lab '${labName}' (rewritten on every up; do not edit).\n` +
    '# Hosts are reached only through ssh.proxyCommand (the lab bridge lives in its own network namespace).\n';
  return header + toYaml(doc as unknown as Record<string, unknown>);
}

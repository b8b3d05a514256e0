import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseEnvFile } from '../../../../agent/api/env-file.ts';
import { InputError } from '../../../../controller/errors.ts';
import { InventoryError, parseInventory } from '../../../../controller/inventory/load.ts';
import type { Inventory } from '../../../../controller/inventory/model.ts';
import { renderHost } from '../../../../controller/render/render.ts';
import { envName, envQuote, etcdSettings } from '../../../../controller/render/settings.ts';

// A property test without a library: a seeded generator of strings over the characters an inventory can
// hold (ASCII with every character the quoting cares about, non-ASCII from every plane, and, now and then,
// a character the schema must refuse), checked against an oracle written independently of the schema.

const SEED = 0x7e5c_0001;
const RUNS = 1000;

/** mulberry32: a small, good-enough PRNG with a 32-bit seed, so a failure replays exactly. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the env file's double quotes treat specially, and what shells and YAML do. */
const SPECIAL = ['"', "'", '$', '\\', '`', ' ', '#', ';', '=', '{', '}', '%', '!', '*', ':', ',', '&', '|'];
const NON_ASCII = [
  'é',
  'ß',
  '✓',
  '漢',
  'א',
  '\u0301', // combining acute
  '\u00a0', // no-break space
  '\u2028', // line separator: not a newline for systemd or the agent
  '\u200b', // zero-width space
  '\u202e', // right-to-left override
  '\ufeff', // BOM in the middle of a value
  '\ue000', // private use
  '🙂',
  '𝄞',
  '\u{10fffd}', // the last character that is not a noncharacter
];
/** Characters no value may hold: control characters, a lone surrogate, noncharacters. */
const REFUSED = [
  '\n',
  '\r',
  '\0',
  '\t',
  '\x1b',
  '\x7f',
  '\x85',
  '\ud800',
  '\udfff',
  '\ufffe',
  '\ufdd0',
  '\u{1ffff}',
];

function generator(seed: number, refusedChance: number) {
  const next = random(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const char = (): string => {
    const r = next();
    if (r < refusedChance) return pick(REFUSED);
    if (r < 0.45) return String.fromCharCode(0x20 + Math.floor(next() * 95));
    if (r < 0.7) return pick(SPECIAL);
    if (r < 0.88) return pick(NON_ASCII);
    for (;;) {
      const cp = 0xa0 + Math.floor(next() * (0x110000 - 0xa0));
      if (cp < 0xd800 || cp > 0xdfff) return String.fromCodePoint(cp);
    }
  };
  return (maxLength: number): string => {
    let s = '';
    const length = Math.floor(next() * (maxLength + 1));
    for (let i = 0; i < length; i++) s += char();
    return s;
  };
}

/** A YAML double-quoted scalar holding exactly `value`: everything but printable ASCII as an escape. */
function yamlQuote(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    const cp = value.codePointAt(i)!;
    if (cp > 0xffff) {
      out += `\\U${cp.toString(16).padStart(8, '0')}`;
      i++;
    } else if (unit >= 0x20 && unit < 0x7f) {
      out += unit === 0x22 || unit === 0x5c ? `\\${value[i]}` : value[i];
    } else {
      out += `\\u${unit.toString(16).padStart(4, '0')}`;
    }
  }
  return `${out}"`;
}

function inventory(token: string, flagValue: string, dataDir = '/var/lib/etcd/{name}.etcd'): string {
  return `cluster: { token: ${yamlQuote(token)} }
etcd:
  version: 3.5.17
  source: ./etcd.tar.gz
  flags: { test-value: ${yamlQuote(flagValue)} }
  dataDir: ${yamlQuote(dataDir)}
hosts:
  a: { address: 10.0.0.1 }
  b: { address: 10.0.0.2 }
  c: { address: 10.0.0.3 }
`;
}

/** The oracle for flag values: no control character, lone surrogate or noncharacter. */
const isFlagText = (v: string) => !/[\p{Cc}\p{Cs}\p{Noncharacter_Code_Point}]/u.test(v);
/** The oracle for tokens: printable, no whitespace, no quotes, 1 to 128 bytes. */
const isToken = (v: string) => /^[^\p{C}\p{Z}\s'"`]+$/u.test(v) && Buffer.byteLength(v) <= 128;

const SYSTEM = new Set(['/', '/bin', '/boot', '/dev', '/etc', '/home', '/lib', '/lib64', '/proc', '/root']);
for (const dir of ['/run', '/sbin', '/sys', '/tmp', '/usr', '/var', '/var/lib']) SYSTEM.add(dir);
/** The oracle for data dirs: absolute, no empty, '.' or '..' part, printable (spaces allowed), not a system folder. */
const isDataDir = (v: string) =>
  v.startsWith('/') &&
  (v === '/' ||
    v
      .slice(1)
      .split('/')
      .every((part) => part !== '' && part !== '.' && part !== '..')) &&
  /^[^\p{C}\p{Zl}\p{Zp}\t\n\v\f\r\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\ufeff]*$/u.test(v) &&
  !SYSTEM.has(v);

/** Renders member a's env file, parses it as the agent does, and checks it holds exactly the settings. */
function assertRoundTrip(inv: Inventory, context: string): void {
  const host = inv.hosts[0]!;
  const text = renderHost(inv, host.name, 'env');
  const settings = etcdSettings(inv, host);
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  assert.deepEqual(
    lines,
    settings.map((s) => `${envName(s.flag)}=${envQuote(s.value)}`),
    `${context}: one line per setting`,
  );
  const expected = Object.fromEntries(settings.map((s) => [envName(s.flag), s.value]));
  assert.deepEqual({ ...parseEnvFile(text) }, expected, `${context}: the agent reads back what was rendered`);
  for (const line of lines) {
    const [name, value] = [line.slice(0, line.indexOf('=')), expected[line.slice(0, line.indexOf('='))]];
    assert.deepEqual({ ...parseEnvFile(line) }, { [name]: value }, `${context}: ${line} alone`);
  }
}

describe('env file round trip: what the schema accepts renders to one line the agent reads back', () => {
  test(`etcd.flags string values (${RUNS} generated, seed ${SEED})`, () => {
    const gen = generator(SEED, 0.02);
    let accepted = 0;
    for (let i = 0; i < RUNS; i++) {
      const value = gen(i < 20 ? 3 : 40);
      const context = `run ${i}: ${JSON.stringify(value)}`;
      let inv: Inventory | undefined;
      try {
        inv = parseInventory(inventory('etcd-cluster-test', value), 'p.yaml');
      } catch (err) {
        assert.ok(err instanceof InventoryError, `${context}: ${String(err)}`);
        assert.match(err.message, /^p\.yaml:5:\d+: etcd\.flags\.test-value must be /, context);
      }
      assert.equal(inv !== undefined, isFlagText(value), `${context}: accepted iff the oracle says so`);
      if (inv) {
        accepted++;
        assert.equal(inv.etcd.flags['test-value'], value, context);
        assertRoundTrip(inv, context);
      } else {
        assert.throws(() => envQuote(value), InputError, `${context}: envQuote refuses it too`);
      }
    }
    assert.ok(accepted > RUNS / 2 && accepted < RUNS, `a mix of accepted and refused values: ${accepted}`);
  });

  test(`cluster.token (${RUNS} generated, seed ${SEED + 1})`, () => {
    const gen = generator(SEED + 1, 0.01);
    let accepted = 0;
    for (let i = 0; i < RUNS; i++) {
      const value = gen(i % 4 === 0 ? 100 : 12);
      const context = `run ${i}: ${JSON.stringify(value)}`;
      let inv: Inventory | undefined;
      try {
        inv = parseInventory(inventory(value, 'x'), 'p.yaml');
      } catch (err) {
        assert.ok(err instanceof InventoryError, `${context}: ${String(err)}`);
        assert.match(err.message, /^p\.yaml:1:\d+: cluster\.token must be /, context);
      }
      assert.equal(inv !== undefined, isToken(value), `${context}: accepted iff the oracle says so`);
      if (inv) {
        accepted++;
        assert.equal(inv.cluster.token, value, context);
        assertRoundTrip(inv, context);
      }
    }
    assert.ok(accepted > RUNS / 10 && accepted < RUNS, `a mix of accepted and refused tokens: ${accepted}`);
  });

  test(`etcd.dataDir (${RUNS} generated, seed ${SEED + 2})`, () => {
    const gen = generator(SEED + 2, 0.01);
    const next = random(SEED + 3);
    const part = (): string => {
      const r = next();
      if (r < 0.03) return '';
      if (r < 0.06) return '.';
      if (r < 0.09) return '..';
      if (r < 0.12) return ['etc', 'tmp', 'var', 'lib', 'usr'][Math.floor(next() * 5)]!;
      if (r < 0.2) return '{name}';
      return gen(10).replaceAll('/', '') || 'x';
    };
    let accepted = 0;
    for (let i = 0; i < RUNS; i++) {
      const parts = Array.from({ length: 1 + Math.floor(next() * 3) }, part);
      let value = `${next() < 0.05 ? '' : '/'}${parts.join('/')}${next() < 0.03 ? '/' : ''}`;
      if (next() < 0.02) value = '/';
      const context = `run ${i}: ${JSON.stringify(value)}`;
      let inv: Inventory | undefined;
      try {
        inv = parseInventory(inventory('etcd-cluster-test', 'x', value), 'p.yaml');
      } catch (err) {
        assert.ok(err instanceof InventoryError, `${context}: ${String(err)}`);
        assert.match(err.message, /^p\.yaml:6:\d+: etcd\.dataDir /, context);
      }
      const expected = ['a', 'b', 'c'].every((name) => isDataDir(value.replaceAll('{name}', name)));
      assert.equal(inv !== undefined, expected, `${context}: accepted iff the oracle says so`);
      if (inv) {
        accepted++;
        assert.equal(inv.hosts[0]!.dataDir, value.replaceAll('{name}', 'a'), context);
        assertRoundTrip(inv, context);
      }
    }
    assert.ok(
      accepted > RUNS / 10 && accepted < RUNS,
      `a mix of accepted and refused data dirs: ${accepted}`,
    );
  });

  test('envQuote refuses what would not come back on one line, whatever its source', () => {
    for (const ch of REFUSED) {
      assert.throws(
        () => envQuote(`a${ch}b`, 'ETCD_NAME'),
        (err: unknown) =>
          err instanceof InputError && /^cannot write ETCD_NAME to the environment file: /.test(err.message),
      );
    }
    assert.equal(envQuote('a"b$c\\d`e f\u2028é'), '"a\\"b\\$c\\\\d\\`e f\u2028é"');
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseEnvFile } from '../../../../agent/api/env-file.ts';

/** The variables and what was ignored (line: why). */
function parse(text: string | Uint8Array): { env: Record<string, string>; ignored: string[] } {
  const ignored: string[] = [];
  const env = parseEnvFile(text, (line, why) => ignored.push(`${line}: ${why}`));
  return { env: { ...env }, ignored };
}

// Each expectation is what systemd's EnvironmentFile= gives for the same text (env-file.c, v254+).
describe('parseEnvFile reads an environment file as systemd does', () => {
  test('what tskv render writes', () => {
    const text = `# etcd settings (rendered by tskv).
; another comment

ETCD_NAME="h102"
ETCD_INITIAL_CLUSTER="a=http://10.0.0.1:2380,b=http://10.0.0.2:2380"
QUOTED="say \\"hi\\" for \\$5 and \\\\ \\\`x\\\`"
SINGLE='it is $raw'
BARE = plain value  
ETCD_NAME="h102-again"
`;
    assert.deepEqual(parse(text), {
      env: {
        ETCD_NAME: 'h102-again',
        ETCD_INITIAL_CLUSTER: 'a=http://10.0.0.1:2380,b=http://10.0.0.2:2380',
        QUOTED: 'say "hi" for $5 and \\ `x`',
        SINGLE: 'it is $raw',
        BARE: 'plain value',
      },
      ignored: [],
    });
  });

  test("lines without '=', 'export' and other keys that are not names are ignored, and said so", () => {
    assert.deepEqual(parse('not a setting\nexport A=1\n1B=2\n=c\nOK=1\nlast'), {
      env: { OK: '1' },
      ignored: [
        "1: a line without '=' is ignored",
        "2: 'export A' is not a variable name: the assignment is ignored",
        "3: '1B' is not a variable name: the assignment is ignored",
        "4: a line without '=' is ignored",
        "6: a line without '=' is ignored",
      ],
    });
  });

  test('comments start only where a key would; a backslash does not continue them', () => {
    assert.deepEqual(parse('  # c\n\t; d\nA=x # not a comment ;\n# e \\\nB=1\n').env, {
      A: 'x # not a comment ;',
      B: '1',
    });
  });

  test('whitespace around = and around the value is dropped, inside it is kept', () => {
    assert.deepEqual(parse(' A \t=  one  two \t\nB=\nC=""\nD= " padded " \n').env, {
      A: 'one  two',
      B: '',
      C: '',
      D: ' padded ',
    });
  });

  test('unquoted: a backslash gives the next character, quotes after the start are literal', () => {
    assert.deepEqual(parse('A=a\\ b\\\\c\\"d\\n\nB=x\\ \nC=it"s \'raw\'\n').env, {
      A: 'a b\\c"dn',
      B: 'x ',
      C: "it\"s 'raw'",
    });
  });

  test('double quotes: only \\" \\\\ \\` \\$ and backslash-newline are escapes', () => {
    assert.deepEqual(parse('A="\\n\\t\\\\\\"\\$\\`\\x"\n').env, { A: '\\n\\t\\"$`\\x' });
  });

  test('single quotes: everything verbatim up to the next quote', () => {
    assert.deepEqual(parse('A=\'\\n "$x" \\\'\n').env, { A: '\\n "$x" \\' });
  });

  test('quoted and unquoted parts join; quoted values may span lines', () => {
    assert.deepEqual(parse('A="a" \'b\' c  \nB="one\ntwo"\nC=\'x\ny\'\n').env, {
      A: 'abc',
      B: 'one\ntwo',
      C: 'x\ny',
    });
  });

  test('a trailing backslash continues the line (not in single quotes)', () => {
    assert.deepEqual(parse('A=ab\\\ncd\nB="ab\\\ncd"\nC=\'ab\\\ncd\'\nD=\\\nE=1\n').env, {
      A: 'abcd',
      B: 'abcd',
      C: 'ab\\\ncd',
      D: 'E=1',
    });
  });

  test('CR is a newline too; the last line needs none', () => {
    assert.deepEqual(parse('A=1\rB="2"\r\nC=3').env, { A: '1', B: '2', C: '3' });
  });

  test('a later assignment wins; nothing is expanded', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax systemd leaves alone, not a template
    assert.deepEqual(parse('A=1\nB=$A ${A}\nA=2\n').env, { A: '2', B: '$A ${A}' });
  });

  test('names like __proto__ are ordinary keys', () => {
    const env = parseEnvFile('__proto__=x\nconstructor=y\n');
    assert.equal(Object.getPrototypeOf(env), null);
    assert.deepEqual(Object.entries(env), [
      ['__proto__', 'x'],
      ['constructor', 'y'],
    ]);
  });

  test('non-ASCII text passes through; a BOM is part of the first key, as for systemd', () => {
    assert.deepEqual(parse(Buffer.from('A="grüße ✓ 𝄞"\n', 'utf8')).env, { A: 'grüße ✓ 𝄞' });
    assert.deepEqual(parse(Buffer.from('\uFEFFA=1\nB=2\n', 'utf8')), {
      env: { B: '2' },
      ignored: ["1: '\uFEFFA' is not a variable name: the assignment is ignored"],
    });
  });

  test('what makes systemd refuse the whole file throws', () => {
    assert.throws(() => parseEnvFile('A=1\nB="x\0y"\n'), /^Error: line 2: a NUL byte \(systemd refuses/);
    assert.throws(
      () => parseEnvFile(Buffer.from([0x41, 0x3d, 0xff, 0x0a])),
      /^Error: line 1: the value is not valid UTF-8/,
    );
    assert.throws(() => parseEnvFile('A=x\uFFFEy\n'), /line 1: the value has the noncharacter U\+FFFE/);
    assert.throws(() => parseEnvFile('A=\u{10FFFF}\n'), /noncharacter U\+10FFFF/);
    assert.throws(() => parseEnvFile('A=\uFDD0\n'), /noncharacter U\+FDD0/);
    // Outside keys and values (a comment, an ignored line) systemd does not look.
    assert.deepEqual(parse(Buffer.from([0x23, 0xff, 0x0a, 0x41, 0x3d, 0x31])).env, { A: '1' });
  });
});

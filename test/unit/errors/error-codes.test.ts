import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AGENT_ERROR_CODES, routes } from '../../../agent/api/index.ts';
import { AgentClient } from '../../../controller/agent-client/client.ts';
import { ERROR_CODES, type ErrorCode } from '../../../controller/error-codes.ts';
import { exitCodeOf, hostFailure, InputError, TskvError } from '../../../controller/errors.ts';
import { expectTskvError } from '../../fixtures/expect-tskv-error.ts';

const codes = Object.keys(ERROR_CODES) as ErrorCode[];

test('the table: each code once, well formed, exit 1 or 2, with a meaning of its own', () => {
  // The keys as written (the agent's come from its own list): a key written twice, or an agent
  // code written again, would silently override the first in the object.
  const source = readFileSync(new URL('../../../controller/error-codes.ts', import.meta.url), 'utf8');
  const written = [...source.matchAll(/^\s+(E_[A-Z0-9_]+):/gm)].map((m) => m[1]);
  assert.deepEqual(
    written.filter((c, i) => written.indexOf(c) !== i),
    [],
    'codes written twice',
  );
  assert.equal(written.length, codes.length);
  for (const code of codes) {
    assert.match(code, /^E_[A-Z0-9]+(_[A-Z0-9]+)*$/);
    const { exit, meaning } = ERROR_CODES[code];
    assert.ok(exit === 1 || exit === 2, `${code}: exit ${exit}`);
    assert.ok(meaning.trim().length > 0, `${code} has no meaning`);
  }
  const meanings = codes.map((c) => ERROR_CODES[c].meaning);
  assert.equal(new Set(meanings).size, meanings.length, 'two codes share a meaning');
  for (const code of AGENT_ERROR_CODES)
    assert.ok(code in ERROR_CODES, `agent code ${code} is not in the table`);
  // Bad input: the arguments and inventory (E_INPUT), the identity file and the operator's TLS
  // files the inventory names, a snapshot file given that is not there; everything else is an
  // operation or check that failed.
  assert.deepEqual(
    codes.filter((c) => ERROR_CODES[c].exit === 2),
    ['E_INPUT', 'E_SSH_KEY_FILE', 'E_TLS_FILES', 'E_SNAPSHOT_MISSING'],
  );
});

test("a TskvError takes its code's exit code; InputError is E_INPUT, exit 2", () => {
  for (const code of codes) {
    const err = new TskvError(code, 'm');
    assert.equal(err.code, code);
    assert.equal(err.exitCode, ERROR_CODES[code].exit, code);
    assert.equal(exitCodeOf(err), ERROR_CODES[code].exit, code);
  }
  const input = new InputError('bad');
  assert.equal(input.code, 'E_INPUT');
  assert.equal(input.exitCode, 2);
  const onHost = hostFailure('h1', 'render', input);
  assert.equal(onHost.code, 'E_INPUT');
  assert.equal(onHost.exitCode, 2);
  assert.equal(onHost.host, 'h1');
  assert.equal(hostFailure('h1', 'x', new Error('boom')).exitCode, 1);
  assert.equal(exitCodeOf(new Error('boom')), 1);
});

test("an agent's error code passes through only when it is one of the agent's codes", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tskv-codes-'));
  const socket = join(dir, 'agent.sock');
  let answer = { code: 'E_AGENT_PERMISSION', message: 'no CAP_SYS_TIME' };
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: answer }));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  const client = new AgentClient({ host: 'h1', openStream: async () => connect(socket) });
  t.after(async () => {
    await client.close();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const known = await expectTskvError(client.call(routes.version, {}));
  assert.equal(known.code, 'E_AGENT_PERMISSION');
  assert.equal(known.message, 'no CAP_SYS_TIME');
  assert.equal(known.host, 'h1');

  answer = { code: 'E_MADE_UP', message: 'whatever' };
  const unknown = await expectTskvError(client.call(routes.version, {}));
  assert.equal(unknown.code, 'E_AGENT_PROTOCOL');
  assert.match(unknown.message, /unknown error code "E_MADE_UP": whatever/);
  assert.equal(unknown.exitCode, 1);
});

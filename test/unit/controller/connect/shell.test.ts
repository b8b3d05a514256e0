import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { asRoot, substituteProxyCommand } from '../../../../controller/connect/shell.ts';

const echoBack = (cmd: string): string => execFileSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });

describe('asRoot', () => {
  test('wraps in sudo -n sh -c only when needed, preserving the command', () => {
    assert.equal(asRoot('id -u', false), 'id -u');
    const wrapped = asRoot(`echo "it's" && printf '%s' $x`, true);
    assert.ok(wrapped.startsWith('sudo -n sh -c '));
    // Without sudo, the inner command must come back unchanged through sh's parsing.
    assert.equal(
      echoBack(`printf %s ${wrapped.slice('sudo -n sh -c '.length)}`),
      `echo "it's" && printf '%s' $x`,
    );
  });
});

describe('substituteProxyCommand', () => {
  test('%h %p %r %% tokens', () => {
    assert.equal(
      substituteProxyCommand('ip netns exec ns socat STDIO TCP:%h:%p # %r 100%%', '10.0.0.1', 22, 'admin'),
      'ip netns exec ns socat STDIO TCP:10.0.0.1:22 # admin 100%',
    );
    assert.equal(substituteProxyCommand('nc %x', 'h', 1, 'u'), 'nc %x');
  });
});

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { InputError } from '../errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** util.parseArgs with operator-facing errors (exit code 2) instead of stack traces. */
export function parseCommandArgs<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new InputError(`${(err as Error).message}\n${usage}`);
  }
}

/** The positional arguments, or an InputError naming what is missing. */
export function requirePositionals(positionals: string[], names: string[], usage: string): string[] {
  if (positionals.length < names.length) {
    throw new InputError(`missing ${names.slice(positionals.length).join(', ')}\n${usage}`);
  }
  return positionals;
}

import { ERROR_CODES, type ErrorCode, EXIT_FAILED } from './error-codes.ts';

export { type ErrorCode, EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK } from './error-codes.ts';

export interface TskvErrorOptions {
  host?: string;
  step?: string;
  cause?: unknown;
  /** A hint on how to fix it, printed after the message. */
  fix?: string;
}

/**
 * Every failure tskv reports on purpose: a stable code, where it happened, and why. The exit code
 * comes from the code (controller/error-codes.ts).
 */
export class TskvError extends Error {
  readonly code: ErrorCode;
  readonly host: string | undefined;
  readonly step: string | undefined;
  readonly fix: string | undefined;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options: TskvErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TskvError';
    this.code = code;
    this.host = options.host;
    this.step = options.step;
    this.fix = options.fix;
    this.exitCode = ERROR_CODES[code].exit;
  }
}

/** Bad input from the operator (arguments, inventory): E_INPUT, exit code 2. */
export class InputError extends TskvError {
  constructor(message: string, options: TskvErrorOptions = {}) {
    super('E_INPUT', message, options);
    this.name = 'InputError';
  }
}

/**
 * A host's failure in `step`, as every per-host phase reports it: a TskvError keeps its own code and
 * fix and gains the host; anything else is wrapped.
 */
export function hostFailure(host: string, step: string, err: unknown): TskvError {
  if (err instanceof TskvError) {
    if (err.host !== undefined) return err;
    return new TskvError(err.code, err.message, {
      host,
      step: err.step ?? step,
      ...(err.fix ? { fix: err.fix } : {}),
      ...(err.cause === undefined ? {} : { cause: err.cause }),
    });
  }
  return new TskvError('E_HOST_FAILED', describeCause(err), { host, step, cause: err });
}

/** The cause chain of an error as one readable string, without stack traces. */
export function describeCause(err: unknown): string {
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    if (cur instanceof Error) {
      const code = (cur as NodeJS.ErrnoException).code;
      const text = cur.message || String(code ?? cur.name);
      if (!parts.includes(text)) parts.push(text);
      cur = cur.cause;
    } else {
      parts.push(String(cur));
      break;
    }
  }
  return parts.join(': ');
}

/** A failure in a command's --json document. */
export interface ErrorDocument {
  code: ErrorCode;
  host: string | undefined;
  step: string | undefined;
  message: string;
  fix: string | undefined;
}

export function errorDocument(err: unknown): ErrorDocument {
  if (err instanceof TskvError) {
    return { code: err.code, host: err.host, step: err.step, message: describeCause(err), fix: err.fix };
  }
  return {
    code: 'E_INTERNAL',
    host: undefined,
    step: undefined,
    message: describeCause(err),
    fix: undefined,
  };
}

/** One line an operator can act on: "host: step: message (fix)". */
export function formatError(err: unknown): string {
  if (err instanceof TskvError) {
    const where = [err.host, err.step].filter(Boolean).join(': ');
    const msg = describeCause(err);
    return `${where ? `${where}: ` : ''}${msg}${err.fix ? `\n  fix: ${err.fix}` : ''}`;
  }
  return describeCause(err);
}

/** A result document's error, as formatError prints the error it was made of. */
export function formatErrorDocument(doc: ErrorDocument): string {
  const { code, message, host, step, fix } = doc;
  return formatError(
    new TskvError(code, message, {
      ...(host ? { host } : {}),
      ...(step ? { step } : {}),
      ...(fix ? { fix } : {}),
    }),
  );
}

export function exitCodeOf(err: unknown): number {
  return err instanceof TskvError ? err.exitCode : EXIT_FAILED;
}

/**
 * The record of a rotation in progress (ROTATION_FILE in the PKI folder), so that a run stopped
 * at any point is finished by the next, never started over:
 * - `certs`: members' and the client's certificates were issued again; `revoke` holds the serials
 *   of the ones they replace, revoked once every member uses the new ones;
 * - `ca`: a new CA replaces `retiring` (its certificate's SHA-256 fingerprint) in three rolling
 *   passes: every member trusts both (`trust`), then gets certificates of the new CA
 *   (`reissue`), then trusts only the new one (`drop`).
 */
import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../errors.ts';
import { readPkiFile, removePkiFile, writePkiFile } from './files.ts';
import { ROTATION_FILE } from './layout.ts';

export const CA_PHASES = ['trust', 'reissue', 'drop'] as const;
export type CaPhase = (typeof CA_PHASES)[number];

const rotationSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('certs'),
      started: z.iso.datetime(),
      revoke: z.array(z.string().regex(/^[0-9a-f]+$/)),
    })
    .strict(),
  z
    .object({
      kind: z.literal('ca'),
      started: z.iso.datetime(),
      phase: z.enum(CA_PHASES),
      retiring: z.string().regex(/^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/),
    })
    .strict(),
]);

export type Rotation = z.infer<typeof rotationSchema>;
export type CaRotation = Extract<Rotation, { kind: 'ca' }>;

const pathOf = (dir: string) => join(dir, ROTATION_FILE);

/** The rotation in progress in the PKI folder, if any. */
export async function readRotation(dir: string): Promise<Rotation | undefined> {
  const text = await readPkiFile(pathOf(dir), 'state');
  if (text === undefined) return undefined;
  let problem: string;
  try {
    const parsed = rotationSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
    problem = z.prettifyError(parsed.error);
  } catch (err) {
    problem = (err as Error).message;
  }
  throw new InputError(`${pathOf(dir)} is not a rotation record tskv wrote: ${problem}`, {
    step: 'pki',
    fix: `restore it from a backup of ${dir}; tskv never guesses where a rotation stopped`,
  });
}

export async function writeRotation(dir: string, rotation: Rotation): Promise<void> {
  await writePkiFile(pathOf(dir), `${JSON.stringify(rotation, null, 2)}\n`, 'state');
}

export async function clearRotation(dir: string): Promise<void> {
  await removePkiFile(pathOf(dir));
}

/** Whether the CA rotation has got to `phase` (or beyond). */
export function reached(rotation: CaRotation, phase: CaPhase): boolean {
  return CA_PHASES.indexOf(rotation.phase) >= CA_PHASES.indexOf(phase);
}

/** The command that finishes `rotation`. */
export function finishCommand(rotation: Rotation, inventory: string): string {
  return `tskv certs rotate ${inventory}${rotation.kind === 'ca' ? ' --ca' : ''}`;
}

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { InputError } from '../errors.ts';
import { PROJECT_TEMPLATES_DIR } from '../inventory/normalise.ts';

/** The only importer of handlebars: finds, compiles and caches templates. */

type Template = (data: object) => string;

const engine = Handlebars.create();

const cache = new Map<string, Template>();

/** The template's path: the inventory's own folder first, then the project's templates/. */
export function templatePath(templatesDir: string, name: string): string {
  const own = join(templatesDir, name);
  return existsSync(own) ? own : join(PROJECT_TEMPLATES_DIR, name);
}

export function renderTemplate(templatesDir: string, name: string, data: object): string {
  const file = templatePath(templatesDir, name);
  let template = cache.get(file);
  if (!template) {
    let source: string;
    try {
      source = readFileSync(file, 'utf8');
    } catch (err) {
      throw new InputError(`cannot read template ${file}: ${(err as Error).message}`);
    }
    template = engine.compile(source, { noEscape: true, strict: true });
    cache.set(file, template);
  }
  try {
    return template(data);
  } catch (err) {
    throw new InputError(`template ${file} failed: ${(err as Error).message}`);
  }
}

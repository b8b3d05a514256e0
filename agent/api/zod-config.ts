/**
 * zod compiles a fast path for each object schema the first time it parses one (new Function).
 * tskv's processes are short-lived or parse small documents a few times each: the compiling cost
 * the controller ~25 ms a run and each freshly started agent ~45 ms, more than it ever saved.
 */
import { z } from 'zod';

z.config({ jitless: true });

import type { HttpRequest } from '../requests/model.js';
import type { Draft } from './parts.js';

/**
 * One evasion technique. `derive` returns the rewritten requests it can make from `req`, most useful
 * first; drafts equal to the original or to each other are dropped by the caller, which also fixes
 * Content-Length, ids and tags. A technique must keep the attack meaningful: a server that decodes
 * percent-encoding once in path and query and parses form and JSON bodies must see the same attack.
 */
export interface VariantTechnique {
  name: string;
  /** One line, for `--list-techniques` style output. */
  description: string;
  derive(req: HttpRequest): Draft[];
}

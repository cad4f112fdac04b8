// Every migration, by name. Names sort in the order they run: add `NNN-name.ts` and list it here;
// never rename or edit one that has shipped.
import type { Migration } from '../kysely.js';

import { initial } from './001-initial.js';

export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '001-initial': initial,
};

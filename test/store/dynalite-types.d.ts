// dynalite ships no types: the factory the tests use.
declare module 'dynalite' {
  import type { Server } from 'node:http';

  export default function dynalite(opts?: {
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
  }): Server;
}

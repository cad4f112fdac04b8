// The configuration error, apart from the Zod schemas so that code which only reports it (the CLI's
// error handler) does not load Zod.
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
  }
}

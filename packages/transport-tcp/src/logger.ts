/**
 * TransportLogger is the part of a pino logger this package uses: `(fields, message)`. zxids in
 * fields are plain numbers, never BigInt, so any JSON logger can print them.
 */
export interface TransportLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
}

const ignore = (): void => {};

/** SILENT_LOGGER drops everything: the default. */
export const SILENT_LOGGER: TransportLogger = { debug: ignore, info: ignore, warn: ignore };

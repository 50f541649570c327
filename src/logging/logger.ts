/**
 * The logging surface the app needs. pino satisfies it on Node; the edge entry passes a
 * console-backed implementation. Fields, never interpolated strings, so logs stay queryable.
 */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
  /** Lets hot paths skip building fields for a level that is off (pino has it); absent means enabled. */
  isLevelEnabled?(level: 'debug' | 'info' | 'warn' | 'error'): boolean;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};

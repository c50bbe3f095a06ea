// The SDK logs through this small interface; its shape matches pino's (fields first, then the message), so
// a pino logger can be passed in directly.

export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/**
 * A leader or coordinator that moved fails a call or two: routine, so such retries log at info; a
 * failure still there at this consecutive attempt is worth a warning.
 */
export const retryWarningAttemptMin = 3;

/** Logs a retriable failure about to be retried: info while routine, a warning once it persists. */
export function logRetry(logger: Logger, attempt: number, fields: object, message: string): void {
  if (attempt >= retryWarningAttemptMin) logger.warn({ ...fields, attempt }, message);
  else logger.info({ ...fields, attempt }, message);
}

const ignore = (): void => {};

/** The default: warnings and errors to stderr, nothing else. */
export const consoleLogger: Logger = {
  debug: ignore,
  info: ignore,
  warn: (fields, message) => console.warn(`[brook] ${message}`, fields),
  error: (fields, message) => console.error(`[brook] ${message}`, fields),
};

export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

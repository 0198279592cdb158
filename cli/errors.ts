/**
 * CLI errors and exit codes: 0 success, 1 the server or the network failed, 2 bad usage or bad
 * input. CLI errors carry their exit code; errors from the client library are mapped by the table
 * below. Only the bin entry turns the code into the process's exit status.
 */
import {
  GrpcStatusError,
  RequestError,
  ResponseError,
  ServerStatusError,
  TensorValueError,
} from "../client/errors";

export const EXIT_OK = 0;
export const EXIT_SERVER = 1;
export const EXIT_USAGE = 2;

export abstract class CliError extends Error {
  abstract readonly exitCode: number;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Wrong command line: unknown option, missing or conflicting options, bad option values. */
export class UsageError extends CliError {
  readonly exitCode = EXIT_USAGE;
}

/** Bad input data, located: file, line and (when known) input name. */
export class InputError extends CliError {
  readonly exitCode = EXIT_USAGE;
  readonly file: string;
  readonly line: number | undefined;
  readonly input: string | undefined;

  constructor(location: { file: string; line?: number; input?: string }, reason: string, options?: ErrorOptions) {
    super(`${location.file}${location.line !== undefined ? `:${location.line}` : ""}: ${reason}`, options);
    this.file = location.file;
    this.line = location.line;
    this.input = location.input;
  }
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** Exit codes of the client library's errors (first match wins). */
export const LIBRARY_EXIT_CODES: ReadonlyArray<readonly [ErrorClass, number]> = [
  [GrpcStatusError, EXIT_SERVER],
  [ServerStatusError, EXIT_SERVER],
  [ResponseError, EXIT_SERVER],
  [RequestError, EXIT_USAGE],
  [TensorValueError, EXIT_USAGE],
];

export function exitCodeFor(error: unknown): number {
  if (error instanceof CliError) return error.exitCode;
  for (const [ErrorType, code] of LIBRARY_EXIT_CODES) if (error instanceof ErrorType) return code;
  return EXIT_SERVER;
}

/** The one-line message for stderr. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

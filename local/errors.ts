/**
 * Errors of the local-stack commands. Each carries its exit code; only the bin entry turns it into the
 * process's exit status, so `main` can be called in-process.
 */

export const EXIT_OK = 0;
/** A step (pulumi up, destroy, the smoke suite, ...) failed; its own output says why. */
export const EXIT_FAILED = 1;
/** Bad command line. */
export const EXIT_USAGE = 2;
/** Something the commands need is missing or wrong: a tool, the cluster, the kubeconfig context, a node architecture. */
export const EXIT_PREREQUISITE = 3;

export abstract class LocalStackError extends Error {
  abstract readonly exitCode: number;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class UsageError extends LocalStackError {
  readonly exitCode = EXIT_USAGE;
}

/** Fix this, then run the command again: the message says what is missing and how to get it. */
export class PrerequisiteError extends LocalStackError {
  readonly exitCode = EXIT_PREREQUISITE;
}

/** A tool the command ran exited non-zero. */
export class StepFailedError extends LocalStackError {
  readonly exitCode = EXIT_FAILED;
}

export function exitCodeFor(error: unknown): number {
  return error instanceof LocalStackError ? error.exitCode : EXIT_FAILED;
}

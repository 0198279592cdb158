/**
 * How a promotion ends, as error classes that carry their exit code. The flow throws them; `main`
 * returns the code; only the bin entry (promote/bin.ts) sets the process's exit status.
 *
 *   0  promoted (or already up to date, or a dry run that found nothing wrong)
 *   1  the source stack's smoke gate failed: nothing changed
 *   2  bad usage or bad config (including a plan that cannot be made, or a preview that fails
 *      before anything was deployed): nothing changed
 *   3  the target's new config failed (preview, `up` or smoke) and the previous config was put
 *      back, deployed and smoked
 *   4  the rollback failed, or another deployment interleaved: someone must look now
 */
import { SmokeTargetsError } from "../contracts/smoke-targets";
import { SmokeSettingsError } from "../smoke-tests/lib/settings";

export const EXIT_PROMOTED = 0;
export const EXIT_SOURCE_SMOKE_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_ROLLED_BACK = 3;
export const EXIT_ROLLBACK_FAILED = 4;

export type ExitCode = typeof EXIT_PROMOTED | typeof EXIT_SOURCE_SMOKE_FAILED | typeof EXIT_USAGE | typeof EXIT_ROLLED_BACK | typeof EXIT_ROLLBACK_FAILED;

/** What each exit code means, for `--help` and docs/promotion.md. */
export const EXIT_CODE_MEANINGS: ReadonlyArray<readonly [ExitCode, string]> = [
  [EXIT_PROMOTED, "promoted (or already up to date; or a dry run)"],
  [EXIT_SOURCE_SMOKE_FAILED, "the source's smoke gate failed; nothing changed"],
  [EXIT_USAGE, "bad usage or bad config (or the plan's preview failed before any deployment); nothing changed"],
  [EXIT_ROLLED_BACK, "the target failed and was rolled back to its previous config"],
  [EXIT_ROLLBACK_FAILED, "the rollback failed, or another deployment interleaved: someone must look now"],
];

export abstract class PromotionError extends Error {
  abstract readonly exitCode: ExitCode;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Wrong command line. */
export class UsageError extends PromotionError {
  readonly exitCode = EXIT_USAGE;
}

/**
 * A stack's config or outputs cannot be used (invalid, not deployed, config differs from what is
 * deployed), the request cannot be planned, or the stacks cannot be read. Nothing was changed.
 */
export class ConfigError extends PromotionError {
  readonly exitCode = EXIT_USAGE;
}

/** The source stack's smoke gate failed; nothing was changed. */
export class SourceSmokeFailed extends PromotionError {
  readonly exitCode = EXIT_SOURCE_SMOKE_FAILED;
}

/** The target failed after a change and its previous config is deployed again and smoked. */
export class TargetRolledBack extends PromotionError {
  readonly exitCode = EXIT_ROLLED_BACK;
}

/** The rollback could not be completed, or someone else deployed the target meanwhile. */
export class RollbackFailed extends PromotionError {
  readonly exitCode = EXIT_ROLLBACK_FAILED;
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** Errors of the libraries the command uses that mean bad usage or bad config (first match wins). */
export const LIBRARY_EXIT_CODES: ReadonlyArray<readonly [ErrorClass, ExitCode]> = [
  [SmokeSettingsError, EXIT_USAGE],
  [SmokeTargetsError, EXIT_USAGE],
];

/**
 * The exit code of an error that ended a run. Anything else is an error before any change (the flow
 * turns every failure after a change into a rollback), so it means the run could not start: 2.
 */
export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof PromotionError) return error.exitCode;
  for (const [ErrorType, code] of LIBRARY_EXIT_CODES) if (error instanceof ErrorType) return code;
  return EXIT_USAGE;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

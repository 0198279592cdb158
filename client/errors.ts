/**
 * Errors of the TF Serving client. Callers branch on classes (and on `code` for gRPC failures),
 * never on message text.
 */
import { status as GrpcStatus } from "@grpc/grpc-js";

export class TfServingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Renders a path inside a nested value: [1][0]. */
export function formatPath(path: readonly number[]): string {
  return path.map((index) => `[${index}]`).join("");
}

/**
 * A value that cannot become a tensor of the requested dtype and shape: ragged nesting, a value
 * outside the dtype's range, a non-integer for an integer dtype, a shape mismatch...
 */
export class TensorValueError extends TfServingError {
  /** Where in the value the problem is: indices from the outermost array inwards. */
  readonly path: readonly number[];
  /** The problem itself, without the location. */
  readonly reason: string;
  /** The signature input the value was for, when known. */
  readonly input: string | undefined;
  /** The instance (row) the value came from, for row-format requests. */
  readonly instance: number | undefined;

  constructor(reason: string, details: { path?: readonly number[]; input?: string; instance?: number } = {}) {
    const path = details.path ?? [];
    const where = [
      details.instance !== undefined ? `instance ${details.instance}` : undefined,
      details.input !== undefined ? `input "${details.input}"${formatPath(path)}` : path.length ? `value${formatPath(path)}` : undefined,
    ].filter((part) => part !== undefined);
    super(where.length ? `${where.join(", ")}: ${reason}` : reason);
    this.path = path;
    this.reason = reason;
    this.input = details.input;
    this.instance = details.instance;
  }

  /** The same problem, located more precisely (outer path segments first). */
  within(details: { pathPrefix?: readonly number[]; input?: string; instance?: number }): TensorValueError {
    return new TensorValueError(this.reason, {
      path: [...(details.pathPrefix ?? []), ...this.path],
      input: details.input ?? this.input,
      instance: details.instance ?? this.instance,
    });
  }
}

/** A request that cannot be built from what the caller gave (unknown input, missing input...). */
export class RequestError extends TfServingError {
  /** The problem itself, without the instance prefix. */
  readonly reason: string;
  readonly input: string | undefined;
  readonly instance: number | undefined;

  constructor(reason: string, details: { input?: string; instance?: number } = {}) {
    super(details.instance !== undefined ? `instance ${details.instance}: ${reason}` : reason);
    this.reason = reason;
    this.input = details.input;
    this.instance = details.instance;
  }
}

/**
 * Row-format instances that disagree with an earlier instance: a different set of inputs, or a
 * different shape for the same input. `describe` words it with the caller's names for instances.
 */
export class InconsistentInstancesError extends RequestError {
  readonly firstInstance: number;
  private readonly wording: (name: (instance: number) => string) => string;

  constructor(details: { input?: string; instance: number; firstInstance: number }, wording: (name: (instance: number) => string) => string) {
    super(wording((i) => `instance ${i}`), details);
    this.firstInstance = details.firstInstance;
    this.wording = wording;
  }

  /** The reason, naming instances with `name` (e.g. by line number). */
  describe(name: (instance: number) => string): string {
    return this.wording(name);
  }
}

/** The server answered with something the client cannot interpret. */
export class ResponseError extends TfServingError {}

/** Status code names by number, as gRPC (and tensorflow.error.Code) define them. */
export const GRPC_STATUS_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(GrpcStatus)
    .filter(([, value]) => typeof value === "number")
    .map(([name, value]) => [value as number, name]),
);

/** How the failed call was connected, for explaining transport failures. */
export interface ConnectionContext {
  endpoint: string;
  tls: boolean;
}

/**
 * The status text as a person reads it: @grpc/grpc-js ends connection failures with a
 * "Resolution note:" that is often empty, and OpenSSL's reasons with a newline.
 */
export function tidyStatusText(details: string): string {
  return details
    .replace(/\s*\n\s*/g, " ")
    .replace(/\.?\s*Resolution note:\s*$/, "")
    .trim();
}

/**
 * What a transport failure most likely means, when the text alone would leave the user guessing.
 * grpc-js reports TLS handshake failures only as OpenSSL's text, so this is the one place that reads
 * it: "wrong version number" is OpenSSL's reason (SSL_R_WRONG_VERSION_NUMBER) when the peer's first
 * bytes are not a TLS record, i.e. the server speaks plaintext.
 */
export function transportHint(code: number, details: string, connection: ConnectionContext | undefined): string | undefined {
  if (code !== GrpcStatus.UNAVAILABLE || !connection) return undefined;
  if (connection.tls && /wrong version number/i.test(details)) {
    return `${connection.endpoint} answered the TLS handshake with plaintext: the server does not serve TLS there; connect without TLS (mlp: drop --tls and --ca; TfServingClient: tls: false)`;
  }
  return undefined;
}

/**
 * A call that ended with a non-OK gRPC status. `code` and `codeName` are the status; `details`
 * is the server's message, unchanged; `hint` says what a transport failure most likely means.
 */
export class GrpcStatusError extends TfServingError {
  readonly code: number;
  readonly codeName: string;
  readonly details: string;
  /** The RPC, e.g. "/tensorflow.serving.PredictionService/Predict". */
  readonly method: string;
  readonly hint: string | undefined;

  constructor(method: string, code: number, details: string, options?: ErrorOptions & { hint?: string }) {
    const codeName = GRPC_STATUS_NAMES[code] ?? `STATUS_${code}`;
    const text = tidyStatusText(details);
    super(`${method.split("/").pop()} failed: ${codeName}${text ? `: ${text}` : ""}${options?.hint ? `. Hint: ${options.hint}` : ""}`, options);
    this.code = code;
    this.codeName = codeName;
    this.details = details;
    this.method = method;
    this.hint = options?.hint;
  }
}

export class CancelledError extends GrpcStatusError {}
export class UnknownError extends GrpcStatusError {}
export class InvalidArgumentError extends GrpcStatusError {}
export class DeadlineExceededError extends GrpcStatusError {}
export class NotFoundError extends GrpcStatusError {}
export class AlreadyExistsError extends GrpcStatusError {}
export class PermissionDeniedError extends GrpcStatusError {}
export class ResourceExhaustedError extends GrpcStatusError {}
export class FailedPreconditionError extends GrpcStatusError {}
export class AbortedError extends GrpcStatusError {}
export class OutOfRangeError extends GrpcStatusError {}
export class UnimplementedError extends GrpcStatusError {}
export class InternalError extends GrpcStatusError {}
export class UnavailableError extends GrpcStatusError {}
export class DataLossError extends GrpcStatusError {}
export class UnauthenticatedError extends GrpcStatusError {}

type GrpcStatusErrorClass = new (method: string, code: number, details: string, options?: ErrorOptions & { hint?: string }) => GrpcStatusError;

const ERROR_CLASS_BY_CODE: ReadonlyMap<number, GrpcStatusErrorClass> = new Map<number, GrpcStatusErrorClass>([
  [GrpcStatus.CANCELLED, CancelledError],
  [GrpcStatus.UNKNOWN, UnknownError],
  [GrpcStatus.INVALID_ARGUMENT, InvalidArgumentError],
  [GrpcStatus.DEADLINE_EXCEEDED, DeadlineExceededError],
  [GrpcStatus.NOT_FOUND, NotFoundError],
  [GrpcStatus.ALREADY_EXISTS, AlreadyExistsError],
  [GrpcStatus.PERMISSION_DENIED, PermissionDeniedError],
  [GrpcStatus.RESOURCE_EXHAUSTED, ResourceExhaustedError],
  [GrpcStatus.FAILED_PRECONDITION, FailedPreconditionError],
  [GrpcStatus.ABORTED, AbortedError],
  [GrpcStatus.OUT_OF_RANGE, OutOfRangeError],
  [GrpcStatus.UNIMPLEMENTED, UnimplementedError],
  [GrpcStatus.INTERNAL, InternalError],
  [GrpcStatus.UNAVAILABLE, UnavailableError],
  [GrpcStatus.DATA_LOSS, DataLossError],
  [GrpcStatus.UNAUTHENTICATED, UnauthenticatedError],
]);

/** The typed error for a failed call (`error` is what @grpc/grpc-js reported; `connection`, how the call was made). */
export function grpcStatusError(method: string, error: { code?: number; details?: string; message?: string }, connection?: ConnectionContext): GrpcStatusError {
  const code = typeof error.code === "number" ? error.code : GrpcStatus.UNKNOWN;
  const ErrorClass = ERROR_CLASS_BY_CODE.get(code) ?? GrpcStatusError;
  const details = error.details ?? error.message ?? "";
  const hint = transportHint(code, details, connection);
  return new ErrorClass(method, code, details, { cause: error, ...(hint ? { hint } : {}) });
}

/**
 * A TensorFlow StatusProto in a response that is not OK (e.g. ReloadConfigResponse.status).
 * `codeName` is the tensorflow.error.Code name.
 */
export class ServerStatusError extends TfServingError {
  readonly codeName: string;
  readonly serverMessage: string;

  constructor(operation: string, codeName: string, serverMessage: string) {
    super(`${operation} failed: ${codeName}: ${serverMessage}`);
    this.codeName = codeName;
    this.serverMessage = serverMessage;
  }
}

/**
 * Options every command shares (where the server is, which model, how to connect) and turning
 * them into a client.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Options } from "yargs";
import { DEFAULT_TIMEOUT_MS, TfServingClient, type ModelRef } from "../../client/client";
import type { CliIo } from "../command";
import { InputError, UsageError } from "../errors";

export const connectionOptions: Record<string, Options> = {
  endpoint: { type: "string", demandOption: true, requiresArg: true, describe: "gRPC address of the model server, HOST:PORT" },
  model: { type: "string", demandOption: true, requiresArg: true, describe: "Model name" },
  "timeout-ms": { type: "number", requiresArg: true, default: DEFAULT_TIMEOUT_MS, describe: "Deadline of each gRPC call, in milliseconds" },
  tls: { type: "boolean", default: false, describe: "Connect with TLS (system root certificates unless --ca)" },
  ca: { type: "string", requiresArg: true, describe: "PEM file of CA certificates to trust; implies --tls" },
};

export const versionOption: Options = { type: "string", requiresArg: true, describe: "Model version number (default: the server's latest)" };
export const labelOption: Options = { type: "string", requiresArg: true, describe: "Version label from the server's config, e.g. stable" };

export interface ConnectionArgs {
  endpoint: string;
  model: string;
  version?: string;
  label?: string;
  timeoutMs: number;
  tls: boolean;
  ca?: string;
}

function optionalString(options: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = options[name];
  return value === undefined ? undefined : String(value);
}

export function parseConnection(options: Readonly<Record<string, unknown>>): ConnectionArgs {
  const endpoint = String(options["endpoint"]);
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/.test(endpoint)) {
    throw new UsageError(`--endpoint must be HOST:PORT, e.g. localhost:8500 (got "${endpoint}")`);
  }
  const model = String(options["model"]);
  if (!model) throw new UsageError("--model must not be empty");
  const version = optionalString(options, "version");
  if (version !== undefined && !/^\d+$/.test(version)) throw new UsageError(`--version must be a non-negative integer (got "${version}")`);
  const label = optionalString(options, "label");
  if (label !== undefined && !label) throw new UsageError("--label must not be empty");
  if (version !== undefined && label !== undefined) throw new UsageError("--version and --label exclude each other");
  const timeoutMs = Number(options["timeout-ms"]);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError(`--timeout-ms must be a positive number of milliseconds (got "${String(options["timeout-ms"])}")`);
  const ca = optionalString(options, "ca");
  return { endpoint, model, version, label, timeoutMs, tls: Boolean(options["tls"]) || ca !== undefined, ca };
}

export function modelRef(args: ConnectionArgs): ModelRef {
  return { model: args.model, version: args.version, label: args.label };
}

/** Reads FILE, or stdin for "-"; a file that cannot be read is bad input (exit 2). */
export async function readInput(file: string, io: CliIo): Promise<{ name: string; text: string }> {
  if (file === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of io.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
    return { name: "<stdin>", text: Buffer.concat(chunks).toString("utf8") };
  }
  try {
    return { name: file, text: await readFile(path.resolve(io.cwd, file), "utf8") };
  } catch (error) {
    throw new InputError({ file }, `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
}

/** Runs `work` with a client for the connection options, closing it afterwards. */
export async function withClient<T>(args: ConnectionArgs, io: CliIo, work: (client: TfServingClient) => Promise<T>): Promise<T> {
  let tls: boolean | { ca: Buffer } = args.tls;
  if (args.ca !== undefined) {
    try {
      tls = { ca: await readFile(path.resolve(io.cwd, args.ca)) };
    } catch (error) {
      throw new InputError({ file: args.ca }, `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
    }
  }
  const client = new TfServingClient({ endpoint: args.endpoint, tls, timeoutMs: args.timeoutMs });
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

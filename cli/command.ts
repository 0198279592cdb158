/**
 * Commands are data: a name, a summary, yargs option declarations, examples and a handler that
 * returns the JSON document to print. Handlers stay thin over the client library.
 */
import type { Options } from "yargs";

export interface Writer {
  write(text: string): unknown;
}

/** Where a command reads and writes; the process's streams, or test doubles. */
export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: Writer;
  stderr: Writer;
  /** Relative FILE arguments resolve against this directory. */
  cwd: string;
}

export interface CommandSpec<Args> {
  name: string;
  summary: string;
  /** Usage line shown by `mlp <name> --help`, after "mlp". */
  usage: string;
  options: Record<string, Options>;
  examples: [command: string, description: string][];
  /** Turns parsed options into typed arguments; throws UsageError on bad values. */
  parse(options: Readonly<Record<string, unknown>>): Args;
  /** Does the work; the result is printed as JSON on stdout. */
  run(args: Args, io: CliIo): Promise<unknown>;
}

/** A command with its argument type erased, as the dispatcher holds it. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  options: Record<string, Options>;
  examples: [string, string][];
  execute(options: Readonly<Record<string, unknown>>, io: CliIo): Promise<unknown>;
}

export function defineCommand<Args>(spec: CommandSpec<Args>): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    usage: spec.usage,
    options: spec.options,
    examples: spec.examples,
    execute: (options, io) => spec.run(spec.parse(options), io),
  };
}

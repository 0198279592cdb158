/**
 * `mlp`: a command-line client for TF Serving's gRPC API. `main` parses the command line,
 * runs one command and returns the exit code; it never exits the process itself, so it can be
 * called in-process (tests) as well as from the bin entry.
 *
 * stdout carries only the command's JSON result; messages go to stderr.
 */
import yargs from "yargs/yargs";
import type { CliIo, Command } from "./command";
import { COMMANDS } from "./commands";
import { EXIT_OK, EXIT_USAGE, errorMessage, exitCodeFor } from "./errors";
import { toJson } from "./output";
import { packageVersion } from "./version";

export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() };
}

export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  // `--version` is the model version inside the commands, so the program's own is only the sole argument.
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
    io.stdout.write(`${packageVersion()}\n`);
    return EXIT_OK;
  }
  const first = argv[0];
  if (first !== undefined && !first.startsWith("-") && !COMMANDS.some((c) => c.name === first)) {
    io.stderr.write(`mlp: unknown command "${first}"; the commands are ${COMMANDS.map((c) => c.name).join(", ")}\nRun "mlp --help" for usage.\n`);
    return EXIT_USAGE;
  }
  let selected: { command: Command; options: Record<string, unknown> } | undefined;
  const parser = yargs([...argv])
    .scriptName("mlp")
    .usage("$0 <command> [options]\n\nA client for TensorFlow Serving's gRPC API. Results are JSON on stdout; messages go to stderr.")
    .strict()
    .version(false)
    .help("help")
    .alias("help", "h")
    .demandCommand(1, "a command is required")
    .wrap(100)
    .epilogue(`mlp --version prints the version of ml-platform (${packageVersion()}).\nExit codes: 0 success; 1 the server or the network failed; 2 bad usage or bad input.`);
  for (const command of COMMANDS) {
    parser.command(
      command.name,
      command.summary,
      (builder) => {
        builder.usage(`$0 ${command.usage}\n\n${command.summary}`).options(command.options);
        for (const [example, description] of command.examples) builder.example(example, description);
        return builder;
      },
      (options) => {
        selected = { command, options };
      },
    );
  }

  const parsed = await new Promise<{ error: Error | null | undefined; output: string }>((resolve) => {
    void parser.parse([...argv], {}, (error, _argv, output) => resolve({ error, output }));
  });
  if (parsed.error) {
    const context = argv.find((arg) => COMMANDS.some((c) => c.name === arg));
    io.stderr.write(`mlp: ${parsed.error.message}\nRun "mlp ${context ? `${context} ` : ""}--help" for usage.\n`);
    return EXIT_USAGE;
  }
  if (!selected) {
    io.stdout.write(`${parsed.output}\n`); // --help
    return EXIT_OK;
  }
  try {
    const result = await selected.command.execute(selected.options, io);
    io.stdout.write(`${toJson(result)}\n`);
    return EXIT_OK;
  } catch (error) {
    io.stderr.write(`mlp: error: ${errorMessage(error)}\n`);
    return exitCodeFor(error);
  }
}

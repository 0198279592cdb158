/**
 * The local-stack commands' entry: `main(["up" | "smoke" | "down", ...args], context)` runs one command
 * and returns the exit code (0 done, 1 a step failed, 2 bad usage, 3 a prerequisite is missing). It never
 * exits the process, so tests call it in-process with fake tools on PATH.
 */
import { COMMANDS, type LocalCommand } from "./commands";
import { type LocalContext, processContext } from "./context";
import { EXIT_OK, EXIT_USAGE, exitCodeFor } from "./errors";

export function usage(): string {
  return [
    "The platform on a local Kubernetes cluster (docs/local-stack.md).",
    "",
    ...COMMANDS.flatMap((c) => [`  ${c.usage}`, `      ${c.summary}`]),
    "",
    "Exit codes: 0 done; 1 a step failed (its output says why); 2 bad usage; 3 a prerequisite is missing.",
  ].join("\n");
}

export function commandHelp(command: LocalCommand): string {
  return [
    `Usage: ${command.usage}`,
    "",
    command.summary,
    ...command.details,
    "",
    "Exit codes: 0 done; 1 a step failed (its output says why); 2 bad usage; 3 a prerequisite is missing.",
    "More: docs/local-stack.md",
  ].join("\n");
}

export async function main(argv: readonly string[], context: LocalContext = processContext()): Promise<number> {
  const [name, ...args] = argv;
  if (name === "--help" || name === "-h" || name === "help") {
    context.io.stdout.write(`${usage()}\n`);
    return EXIT_OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    context.io.stderr.write(`local: ${name ? `unknown command "${name}"` : "a command is required"}\n\n${usage()}\n`);
    return EXIT_USAGE;
  }
  // `npm run local:up -- --help`: this command's help, not the tool's it drives
  if (args.includes("--help") || args.includes("-h")) {
    context.io.stdout.write(`${commandHelp(command)}\n`);
    return EXIT_OK;
  }
  try {
    await command.run(context, args);
    return EXIT_OK;
  } catch (error) {
    context.io.stderr.write(`local:${command.name}: error: ${(error as Error).message}\n`);
    return exitCodeFor(error);
  }
}

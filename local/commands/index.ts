/** The local-stack commands, declared as data; `main` dispatches to them. */
import { parseArgs } from "node:util";
import type { LocalContext } from "../context";
import { UsageError } from "../errors";
import { down } from "./down";
import { smoke } from "./smoke";
import { up } from "./up";

export interface LocalCommand {
  name: "up" | "smoke" | "down";
  /** How to run it, as `npm run local:<name>` takes it. */
  usage: string;
  summary: string;
  run(context: LocalContext, args: readonly string[]): Promise<void>;
}

/** Parses a command's own flags; anything else is a usage error naming the command. */
function flags<T extends Record<string, { type: "boolean" }>>(command: string, args: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError(`local:${command}: ${(error as Error).message}`, { cause: error });
  }
}

export const COMMANDS: readonly LocalCommand[] = [
  {
    name: "up",
    usage: "npm run local:up [-- <pulumi up flags>]",
    summary: "Create the local stack (file backend in .pulumi-local/, passphrase secrets) if needed, then pulumi up.",
    run: (context, args) => up(context, args),
  },
  {
    name: "smoke",
    usage: "npm run local:smoke",
    summary: "Port-forward every serving Service and run the smoke suite against the stack's smokeTargets.",
    run: (context, args) => {
      flags("smoke", args, {});
      return smoke(context);
    },
  },
  {
    name: "down",
    usage: "npm run local:down [-- --forget]",
    summary: "pulumi destroy, then delete the stack's state in .pulumi-local/ (--forget: skip the destroy, the cluster is gone).",
    run: (context, args) => down(context, { forget: flags("down", args, { forget: { type: "boolean" } }).forget === true }),
  },
];

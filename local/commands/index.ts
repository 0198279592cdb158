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
  /** More lines for `npm run local:<name> -- --help`. */
  details: string[];
  run(context: LocalContext, args: readonly string[]): Promise<void>;
}

/** Parses a command's own flags; anything else is a usage error naming what the command takes. */
function flags<T extends Record<string, { type: "boolean" }>>(command: LocalCommand["name"], args: readonly string[], options: T) {
  const { values, tokens } = parseArgs({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  const takes = Object.keys(options).length ? `it takes ${Object.keys(options).map((o) => `--${o}`).join(", ")}` : "it takes no options";
  for (const token of tokens) {
    if (token.kind === "option" && !(token.name in options)) throw new UsageError(`unknown option ${token.rawName}; ${takes} (${usageOf(command)})`);
    if (token.kind === "positional") throw new UsageError(`unexpected argument "${token.value}"; ${takes} (${usageOf(command)})`);
  }
  return values;
}

function usageOf(command: LocalCommand["name"]): string {
  return COMMANDS.find((c) => c.name === command)!.usage;
}

export const COMMANDS: readonly LocalCommand[] = [
  {
    name: "up",
    usage: "npm run local:up [-- <pulumi up flags>]",
    summary: "Create the local stack (file backend in .pulumi-local/, passphrase secrets) if needed, then pulumi up.",
    details: [
      "Checks pulumi, kubectl and the cluster first (its kubeconfig context; an amd64 node) and names everything missing.",
      "Arguments after -- other than --help go to pulumi up, e.g. npm run local:up -- --refresh (see pulumi up --help).",
      "Running it again updates the stack, or continues after a failure.",
    ],
    run: (context, args) => up(context, args),
  },
  {
    name: "smoke",
    usage: "npm run local:smoke",
    summary: "Port-forward every serving Service and run the smoke suite against the stack's smokeTargets.",
    details: ["A port-forward reaches one pod of a Service, so per-pod checks are skipped. SMOKE_* knobs apply (docs/smoke-suite.md)."],
    run: (context, args) => {
      flags("smoke", args, {});
      return smoke(context);
    },
  },
  {
    name: "down",
    usage: "npm run local:down [-- --forget]",
    summary: "pulumi destroy, then delete the stack's state in .pulumi-local/ (--forget: skip the destroy, the cluster is gone).",
    details: ["stacks/Pulumi.local.yaml is kept. A failed destroy keeps the stack and its state: run it again to continue."],
    run: (context, args) => down(context, { forget: flags("down", args, { forget: { type: "boolean" } }).forget === true }),
  },
];

import type { Command } from "../command";
import { metadataCommand } from "./metadata";
import { predictCommand } from "./predict";
import { statusCommand } from "./status";

/** Every `mlp` command, in the order `mlp --help` lists them. */
export const COMMANDS: readonly Command[] = [predictCommand, metadataCommand, statusCommand];

/**
 * `npm run local:down [-- --forget]`: `pulumi destroy` of the local stack, then its state: the state folder
 * is deleted when local:up made it and the stack is its only one (else only the stack is removed, with
 * `pulumi stack rm --preserve-config`). The committed stacks/Pulumi.local.yaml is never touched. A failed
 * destroy keeps everything, so running it again continues. `--forget` skips the destroy, for a cluster
 * that no longer exists.
 */
import { existsSync } from "node:fs";
import { relative } from "node:path";
import { type LocalContext, say } from "../context";
import { PrerequisiteError, StepFailedError } from "../errors";
import { isLocalStackName, removeLocalStack, requirePulumi, stacksInBackend, streamPulumi } from "../pulumi";
import { isLocalStateDir, removeStateDir } from "../state";
import { preflight } from "./preflight";

export interface DownOptions {
  /** Remove the stack's state without destroying its resources (the cluster is gone). */
  forget: boolean;
}

export async function down(context: LocalContext, options: DownOptions): Promise<void> {
  const where = relative(context.projectDir, context.stateDir) || context.stateDir;
  if (!isLocalStateDir(context.stateDir)) {
    if (existsSync(context.stateDir)) throw new PrerequisiteError(`${where} exists but local:up did not make it (no ABOUT.txt); not touching it`);
    say(context, "down", `nothing to remove: there is no local stack state in ${where}`);
    return;
  }
  await requirePulumi(context);
  const stacks = await stacksInBackend(context);
  const others = stacks.filter((name) => !isLocalStackName(name));
  if (stacks.some(isLocalStackName)) {
    if (options.forget) {
      say(context, "down", "forgetting the stack without destroying its resources (--forget)");
    } else {
      await preflight(context, "down", { checkArchitectures: false }).catch((error: unknown) => {
        if (!(error instanceof PrerequisiteError)) throw error;
        throw new PrerequisiteError(`${error.message}\nIf that cluster is gone for good, \`npm run local:down -- --forget\` removes the stack's state without destroying anything.`, { cause: error });
      });
      const code = await streamPulumi(context, ["destroy", "--yes"]);
      if (code !== 0) throw new StepFailedError(`pulumi destroy failed (exit ${code}); the stack and its state are kept: fix the cause and run npm run local:down again`);
    }
    if (others.length > 0) {
      // The folder stays for the other stacks; only this one's state goes.
      await removeLocalStack(context, { force: options.forget });
      say(context, "down", `removed the stack "local"; kept ${where}: it also holds ${others.join(", ")}`);
      return;
    }
  } else if (others.length > 0) {
    say(context, "down", `no stack "local" to remove; kept ${where}: it holds ${others.join(", ")}`);
    return;
  }
  // The folder holds this stack alone: deleting it removes the stack's state (history and backups too)
  // without `pulumi stack rm`, which would also clear the project's selected stack in your Pulumi workspace.
  removeStateDir(context.stateDir);
  say(context, "down", `removed the stack "local" and deleted ${where} (stacks/Pulumi.local.yaml is kept)`);
}

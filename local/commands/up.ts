/**
 * `npm run local:up [-- <pulumi up flags>]`: creates the local stack in the state folder if it does not
 * exist yet, then `pulumi up --yes --stack local` (extra arguments go to `pulumi up`, e.g. `--refresh`).
 */
import { relative } from "node:path";
import { clusterSilence } from "../cluster";
import { type LocalContext, say } from "../context";
import { StepFailedError } from "../errors";
import { createLocalStack, localStackExists, streamPulumi } from "../pulumi";
import { ensureStateDir, recordContext } from "../state";
import { preflight } from "./preflight";

export async function up(context: LocalContext, pulumiArgs: readonly string[]): Promise<void> {
  const { kubeContext } = await preflight(context, "up", { checkArchitectures: true });
  ensureStateDir(context.stateDir);
  const where = relative(context.projectDir, context.stateDir) || context.stateDir;
  if (await localStackExists(context)) {
    say(context, "up", `using the existing stack "local" in ${where}`);
  } else {
    await createLocalStack(context);
    say(context, "up", `created the stack "local" in ${where} (file backend, passphrase secrets provider)`);
  }
  // Recorded before the update, so a failed or interrupted `up` is still tied to this cluster.
  recordContext(context.stateDir, kubeContext);
  const code = await streamPulumi(context, ["up", "--yes", ...pulumiArgs]);
  if (code !== 0) {
    const silence = await clusterSilence(context, kubeContext);
    if (silence) {
      throw new StepFailedError(
        `pulumi up failed (exit ${code}): the cluster of kubeconfig context "${kubeContext}" stopped answering during the update (${silence}). ` +
          "Start it again, then run npm run local:up: it continues where it stopped.",
      );
    }
    throw new StepFailedError(`pulumi up failed (exit ${code}); see its output above. Fix the cause and run npm run local:up again (it continues where it stopped).`);
  }
  say(context, "up", "the platform is up. Next: npm run local:smoke (docs/local-stack.md, See each piece)");
}

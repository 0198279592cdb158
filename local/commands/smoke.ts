/**
 * `npm run local:smoke`: a port-forward to every serving Service of the stack's `smokeTargets`, then the
 * smoke suite (`npm run smoke`) with SMOKE_STACK=local and SMOKE_ENDPOINT_ADDRESSES pointing at them.
 */
import { parseSmokeTargets } from "../../contracts/smoke-targets";
import { type LocalContext, say } from "../context";
import { PrerequisiteError, StepFailedError } from "../errors";
import { type PortForward, startPortForward } from "../port-forward";
import { stream } from "../processes";
import { localStackExists, pulumiEnv, stackOutput } from "../pulumi";
import { LOCAL_STACK } from "../stack-config";
import { isLocalStateDir } from "../state";
import { preflight } from "./preflight";

/** The smoke suite as docs/smoke-suite.md runs it. */
export const SMOKE_COMMAND: readonly [string, readonly string[]] = ["npm", ["run", "--silent", "smoke"]];

export async function smoke(context: LocalContext): Promise<void> {
  const noStack = new PrerequisiteError("there is no local stack to check: run npm run local:up first");
  if (!isLocalStateDir(context.stateDir)) throw noStack;
  const { kubeContext } = await preflight(context, "smoke", { checkArchitectures: false });
  if (!(await localStackExists(context))) throw noStack;

  const targets = parseSmokeTargets(await stackOutput(context, "smokeTargets"));
  if (targets.endpoints.length === 0) throw new StepFailedError("the local stack's smokeTargets output has no endpoints: it declares no serving to check");

  const forwards: PortForward[] = [];
  try {
    for (const endpoint of targets.endpoints) {
      const forward = await startPortForward(context, kubeContext, endpoint);
      forwards.push(forward);
      say(context, "smoke", `endpoint "${endpoint.name}" (${endpoint.grpc}) is forwarded to ${forward.address}`);
    }
    const [command, args] = SMOKE_COMMAND;
    const code = await stream(command, args, {
      env: {
        ...pulumiEnv(context),
        SMOKE_STACK: LOCAL_STACK,
        SMOKE_ENDPOINT_ADDRESSES: forwards.map((f) => `${f.endpoint}=${f.address}`).join(","),
      },
      cwd: context.projectDir,
      io: context.io,
    });
    if (code !== 0) throw new StepFailedError(`the smoke suite failed (exit ${code}); its report above names every failed check`);
    say(context, "smoke", "every check passed");
  } finally {
    await Promise.all(forwards.map((f) => f.stop()));
  }
}

/**
 * What every local-stack command checks before it touches Pulumi state or the cluster: the Pulumi CLI,
 * kubectl, the kubeconfig context, that the cluster answers, and that it is the cluster the stack was
 * deployed to. Every check that can run does, and all missing prerequisites are reported at once, each
 * with what to install or start.
 */
import { checkArchitectures, checkSameContext, kubeContext, nodeArchitectures } from "../cluster";
import { type LocalContext, say } from "../context";
import { PrerequisiteError } from "../errors";
import { notFoundMessage, onPath } from "../processes";
import { requirePulumi } from "../pulumi";
import { readLocalStackConfig } from "../stack-config";
import { recordedContext } from "../state";

export interface Preflight {
  /** The kubeconfig context the program (and kubectl) use. */
  kubeContext: string;
  architectures: string[];
}

/** The tools every local-stack command drives. */
export const LOCAL_TOOLS = ["pulumi", "kubectl"] as const;

/** One error for all the problems found (each on its own line when there are several). */
export function prerequisitesError(problems: readonly string[]): PrerequisiteError {
  if (problems.length === 1) return new PrerequisiteError(problems[0]!);
  return new PrerequisiteError(`${problems.length} prerequisites are missing:\n${problems.map((p) => `  - ${p.replace(/\n/g, "\n    ")}`).join("\n")}`);
}

export async function preflight(context: LocalContext, command: string, options: { checkArchitectures: boolean }): Promise<Preflight> {
  const config = readLocalStackConfig(context.projectDir);
  const problems: string[] = [];
  /** Runs a check; a missing prerequisite is noted and the next check still runs. */
  const check = async <T>(run: () => T | Promise<T>): Promise<T | undefined> => {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof PrerequisiteError)) throw error;
      problems.push(error.message);
      return undefined;
    }
  };
  const missing = LOCAL_TOOLS.filter((tool) => !onPath(tool, context.env));
  problems.push(...missing.map(notFoundMessage));
  if (!missing.includes("pulumi")) await check(() => requirePulumi(context));
  const kube = missing.includes("kubectl") ? undefined : await check(() => kubeContext(context, config));
  let architectures: string[] | undefined;
  if (kube !== undefined) {
    await check(() => checkSameContext(recordedContext(context.stateDir), kube));
    architectures = await check(() => nodeArchitectures(context, kube));
    if (architectures && options.checkArchitectures) await check(() => checkArchitectures(architectures!, config));
  }
  if (problems.length > 0 || kube === undefined || architectures === undefined) throw prerequisitesError(problems);
  say(context, command, `kubeconfig context "${kube}" (nodes: ${architectures.join(", ")})`);
  return { kubeContext: kube, architectures };
}

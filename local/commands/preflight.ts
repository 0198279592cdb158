/**
 * What every local-stack command checks before it touches Pulumi state or the cluster: the Pulumi CLI,
 * kubectl, the kubeconfig context, that the cluster answers, and that it is the cluster the stack was
 * deployed to.
 */
import { checkArchitectures, checkSameContext, kubeContext, nodeArchitectures } from "../cluster";
import { type LocalContext, say } from "../context";
import { requirePulumi } from "../pulumi";
import { readLocalStackConfig } from "../stack-config";
import { recordedContext } from "../state";

export interface Preflight {
  /** The kubeconfig context the program (and kubectl) use. */
  kubeContext: string;
  architectures: string[];
}

export async function preflight(context: LocalContext, command: string, options: { checkArchitectures: boolean }): Promise<Preflight> {
  const config = readLocalStackConfig(context.projectDir);
  await requirePulumi(context);
  const kube = await kubeContext(context, config);
  checkSameContext(recordedContext(context.stateDir), kube);
  const architectures = await nodeArchitectures(context, kube);
  if (options.checkArchitectures) checkArchitectures(architectures, config);
  say(context, command, `kubeconfig context "${kube}" (nodes: ${architectures.join(", ")})`);
  return { kubeContext: kube, architectures };
}

/**
 * The cluster as the local-stack commands check it with kubectl before Pulumi runs: which kubeconfig
 * context the program will use, that the cluster answers, that the stack stays in the cluster it was
 * deployed to, and that there is a node for amd64-only images.
 */
import type { LocalContext } from "./context";
import { PrerequisiteError } from "./errors";
import { capture } from "./processes";
import type { LocalStackConfig } from "./stack-config";

const START_A_CLUSTER =
  "start a local cluster first (e.g. `kind create cluster`, `k3d cluster create`, `minikube start`, or Kubernetes in Docker Desktop's settings)";

function kubectl(context: LocalContext, args: string[]) {
  return capture("kubectl", args, { env: context.env, cwd: context.projectDir });
}

/** The context the program's Kubernetes provider will use: the config's, else kubectl's current one. */
export async function kubeContext(context: LocalContext, config: LocalStackConfig): Promise<string> {
  if (config.context) return config.context;
  const result = await kubectl(context, ["config", "current-context"]);
  const current = result.stdout.trim();
  if (result.code !== 0 || current === "") {
    throw new PrerequisiteError(`kubectl has no current context: ${START_A_CLUSTER}, or name a context in ml-platform:cluster.context of stacks/Pulumi.local.yaml.`);
  }
  return current;
}

/** The CPU architecture of every node (`kubernetes.io/arch` values); fails when the cluster does not answer. */
export async function nodeArchitectures(context: LocalContext, kubeContextName: string): Promise<string[]> {
  const result = await kubectl(context, [
    "--context",
    kubeContextName,
    "--request-timeout=20s",
    "get",
    "nodes",
    "-o",
    "jsonpath={.items[*].status.nodeInfo.architecture}",
  ]);
  if (result.code !== 0) {
    const reason = result.stderr.trim().split("\n").slice(-3).join(" ");
    throw new PrerequisiteError(`cannot reach the cluster of kubeconfig context "${kubeContextName}": ${reason || `kubectl exited ${result.code}`}. Is it running? Otherwise ${START_A_CLUSTER}.`);
  }
  const architectures = result.stdout.trim().split(/\s+/).filter(Boolean);
  if (architectures.length === 0) throw new PrerequisiteError(`the cluster of kubeconfig context "${kubeContextName}" has no nodes`);
  return architectures;
}

/**
 * Whether the cluster of a context answers now (its readiness endpoint, briefly); kubectl's reason when not.
 * Used after a failed update, to tell a cluster that went away from a failure of the program.
 */
export async function clusterSilence(context: LocalContext, kubeContextName: string): Promise<string | undefined> {
  const result = await kubectl(context, ["--context", kubeContextName, "--request-timeout=10s", "get", "--raw", "/readyz"]);
  if (result.code === 0) return undefined;
  return result.stderr.trim().split("\n").slice(-1)[0] || `kubectl exited ${result.code}`;
}

/** "a", "a and b", "a, b and c". */
function listed(items: readonly string[]): string {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

/** Pure: refuses a cluster without an amd64 node when a workload's image exists for amd64 only. */
export function checkArchitectures(architectures: readonly string[], config: LocalStackConfig): void {
  if (config.amd64OnlyWorkloads.length === 0 || architectures.includes("amd64")) return;
  throw new PrerequisiteError(
    `the cluster has no amd64 node (its nodes: ${[...new Set(architectures)].join(", ")}), but ${listed(config.amd64OnlyWorkloads)} ` +
      "run images published for linux/amd64 only: their pods could never start. Run the cluster on an x86-64 machine or VM, " +
      "or give the servings, trainings and mobile exports images built for your nodes (docs/local-stack.md, Platform limits).",
  );
}

/** Pure: refuses to touch the stack from another cluster than the one it was deployed to. */
export function checkSameContext(recorded: string | undefined, current: string): void {
  if (recorded === undefined || recorded === current) return;
  throw new PrerequisiteError(
    `the local stack was deployed with kubeconfig context "${recorded}", but the commands would now use "${current}". ` +
      `Switch back with \`kubectl config use-context ${recorded}\` (or set ml-platform:cluster.context), so that Pulumi manages the cluster that holds the stack.`,
  );
}

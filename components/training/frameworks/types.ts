/**
 * The contract between TrainingJob and its framework modules (after kubeflow/trainer's runtime plugins).
 *
 * A framework module validates the role counts of its modes and enforces the framework's policy on a
 * shared intermediate plan: which roles exist and how many pods each has, the static cluster environment
 * of each role, the ports, which pod exports the model, when a distributed run counts as successful.
 * Exactly one builder (../workload.ts) turns a plan into a batch/v1 Job or a JobSet, so adding a framework
 * touches its own module and the registry only.
 */
import type { IssueCollector } from "../../common/validation";

/** How many pods of a role a mode allows. */
export interface RoleRule {
  /** Fewest pods (0 makes the role optional). */
  min: number;
  /** Most pods. @default unbounded */
  max?: number;
  /** What the role does, for error messages and docs. */
  description: string;
}

/** One mode of a framework: single-pod (a Job) or distributed (a JobSet with these roles, in this order). */
export type ModeSpec = { engine: "job" } | { engine: "jobset"; roles: Record<string, RoleRule> };

/** Whether a role's pods keep pulling the saved checkpoints while they run (sidecar evaluators do). */
export type CheckpointUse = "restore" | "follow";

/** One group of identical pods: a replicated job in a JobSet, or the single trainer pod. */
export interface RolePlan {
  /** Role name: the replicated job's name and the pods' `ML_PLATFORM_ROLE`. */
  name: string;
  /** Pods of this role. */
  replicas: number;
  /** Whether the pods get the per-pod GPUs and the GPU pool's node selector and tolerations. */
  usesGpus: boolean;
  /**
   * Cluster environment shared by every pod of the role. What depends on a pod's index is derived at run
   * time by the entrypoint wrapper from these values and `JOB_COMPLETION_INDEX`.
   */
  env: Record<string, string>;
  /** Ports the framework listens on (informational; pods reach each other directly). */
  ports: Array<{ name: string; containerPort: number }>;
  /** How the role uses checkpoints (when the job has them): restore once at start, or keep following. */
  checkpoints: CheckpointUse;
}

export interface TrainingPlan {
  framework: string;
  mode: string;
  /** `job`: one pod in a batch/v1 Job. `jobset`: one replicated job per role in a JobSet. */
  engine: "job" | "jobset";
  roles: RolePlan[];
  /** The one pod that exports the model (and saves checkpoints): single, chief or rank 0. */
  exporter: { role: string; index: number };
  /** The JobSet succeeds when every job of these roles completed; empty means every role. */
  successRoles: string[];
  /** Give pods a memory-backed `/dev/shm` (PyTorch data loader workers share tensors through it). */
  sharedMemory: boolean;
}

/** What a framework's policy needs to know besides the roles. */
export interface PlanContext {
  /** Kubernetes name of the JobSet; stable pod hostnames derive from it. */
  workloadName: string;
  /** GPUs per pod of the GPU roles; 0 on CPU. */
  gpusPerPod: number;
}

/** A framework: its modes and its policy. */
export interface FrameworkModule {
  readonly name: string;
  readonly modes: Readonly<Record<string, ModeSpec>>;
  /** Framework-specific checks beyond the role counts of `modes` (e.g. a minimum number of pods). */
  validate?(mode: string, replicas: Readonly<Record<string, number>>, issues: IssueCollector): void;
  /** Fills in the framework's cluster environment, ports, exporter, success roles and GPU roles. */
  applyPolicy(plan: TrainingPlan, context: PlanContext): TrainingPlan;
}

/**
 * Stable DNS name of pod `index` of `role` in a JobSet with `network.enableDNSHostnames`:
 * `<jobset>-<replicatedJob>-<jobIndex>-<podIndex>.<subdomain>`, where each role is one indexed Job
 * (job index 0) and the subdomain is the JobSet's headless Service, named after the JobSet.
 */
export function podHostname(workloadName: string, role: string, index: number): string {
  return `${workloadName}-${role}-0-${index}.${workloadName}`;
}

/** The plan with each role changed by `update` (roles are plain data; plans are never mutated). */
export function mapRoles(plan: TrainingPlan, update: (role: RolePlan) => Partial<RolePlan>): TrainingPlan {
  return { ...plan, roles: plan.roles.map((role) => ({ ...role, ...update(role) })) };
}

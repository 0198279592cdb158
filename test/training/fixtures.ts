/** Shared setup for TrainingJob tests: a real ModelStore and GpuNodePool under mocks, and rendered pods. */
import "../harness/jobset-schema";
import { GpuNodePool } from "../../components/compute/gpu-node-pool";
import { ModelStore } from "../../components/storage/model-store";
import type { TrainingJobArgs } from "../../components/training/args";
import { TrainingJob } from "../../components/training/training-job";
import type { PropertyMap, RecordedResource } from "../harness/pulumi-mocks";
import { type MockRun, runInMocks } from "../harness/pulumi-mocks";

export const BUCKET = "acme-models";
export const JOB_TYPE = "kubernetes:batch/v1:Job";
export const JOBSET_TYPE = "kubernetes:jobset.x-k8s.io/v1alpha2:JobSet";

/** TrainingJob arguments without the store and GPU pool, which `trainingRun` declares. */
export type TestArgs = Omit<TrainingJobArgs, "store" | "gpuPool" | "clusterName" | "image" | "command" | "model" | "version"> &
  Partial<Pick<TrainingJobArgs, "image" | "command" | "model" | "version" | "clusterName">> & {
    /** Declare a GpuNodePool of this instance type and pass it as gpuPool. */
    gpuInstanceType?: string;
  };

/** Runs a TrainingJob named `name` (with a ModelStore "models" and, optionally, a GPU pool) under mocks. */
export function trainingRun(args: TestArgs, name = "train"): Promise<MockRun<TrainingJob>> {
  return runInMocks(() => declareTrainingJob(args, name));
}

/**
 * Like `trainingRun`, for arguments the job rejects: the error is caught inside the program, so the run
 * still finishes cleanly (the store and pool declared before it complete their registrations).
 */
export function rejectedTrainingRun(args: TestArgs, name = "train"): Promise<MockRun<unknown>> {
  return runInMocks(() => {
    try {
      return declareTrainingJob(args, name);
    } catch (err) {
      return err;
    }
  });
}

function declareTrainingJob(args: TestArgs, name: string): TrainingJob {
  {
    const store = new ModelStore("models", { bucketName: BUCKET });
    const { gpuInstanceType, ...rest } = args;
    const gpuPool = gpuInstanceType
      ? new GpuNodePool("gpu", { clusterName: "ml-prod", subnetIds: ["subnet-a"], instanceTypes: [gpuInstanceType], scaling: { min: 0, desired: 0, max: 4 } })
      : undefined;
    return new TrainingJob(name, {
      image: "registry.example.com/trainer:1.0",
      command: ["python", "train.py"],
      model: "linear",
      version: 3,
      clusterName: "ml-prod",
      ...rest,
      store,
      ...(gpuPool ? { gpuPool } : {}),
    } as TrainingJobArgs);
  }
}

/** The one Job or JobSet of a run. */
export function workloadOf(run: MockRun<unknown>): RecordedResource {
  const [workload] = [...run.ofType(JOB_TYPE), ...run.ofType(JOBSET_TYPE)];
  if (!workload) throw new Error(`no Job or JobSet in the run: ${run.resources.map((r) => r.type).join(", ")}`);
  return workload;
}

/** A rendered pod template, by role. */
export interface RenderedRole {
  role: string;
  pods: number;
  podSpec: PropertyMap;
}

/** The pod templates of the Job (one role, one pod) or the JobSet (one per replicated job). */
export function renderedRoles(run: MockRun<unknown>): RenderedRole[] {
  const workload = workloadOf(run);
  if (workload.type === JOB_TYPE) return [{ role: "trainer", pods: 1, podSpec: workload.inputs.spec.template.spec }];
  return (workload.inputs.spec.replicatedJobs as PropertyMap[]).map((rjob) => ({
    role: rjob.name,
    pods: rjob.template.spec.completions,
    podSpec: rjob.template.spec.template.spec,
  }));
}

export function container(podSpec: PropertyMap, name: string): PropertyMap {
  const found = [...(podSpec.initContainers ?? []), ...podSpec.containers].find((c: PropertyMap) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

/** A container's literal environment as a record (variables with valueFrom are left out). */
export function envOf(containerSpec: PropertyMap): Record<string, string> {
  return Object.fromEntries((containerSpec.env as PropertyMap[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
}

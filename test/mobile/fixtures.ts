/** Shared setup for MobileExport tests: a real ModelStore (or InClusterModelStore) under mocks. */
import type { MobileExportArgs } from "../../components/mobile/args";
import { MobileExport } from "../../components/mobile/mobile-export";
import { InClusterModelStore } from "../../components/storage/in-cluster/in-cluster-model-store";
import { ModelStore } from "../../components/storage/model-store";
import { type MockRun, type PropertyMap, runInMocks } from "../harness/pulumi-mocks";

export const BUCKET = "acme-models";
export const JOB_TYPE = "kubernetes:batch/v1:Job";

/** MobileExport arguments without the store, which `mobileRun` declares. */
export type TestArgs = Partial<Omit<MobileExportArgs, "store">>;

function declare(args: TestArgs, name: string, store: "s3" | "in-cluster"): MobileExport {
  return new MobileExport(name, {
    model: "linear",
    version: 3,
    clusterName: "ml-prod",
    ...args,
    store: store === "s3" ? new ModelStore("models", { bucketName: BUCKET }) : new InClusterModelStore("models", { namespace: "ml", bucketName: BUCKET }),
  } as MobileExportArgs);
}

/** Runs a MobileExport named `name` with an S3 ModelStore (or the in-cluster store) under mocks. */
export function mobileRun(args: TestArgs = {}, options: { name?: string; store?: "s3" | "in-cluster" } = {}): Promise<MockRun<MobileExport>> {
  return runInMocks(() => declare(args, options.name ?? "linear-mobile", options.store ?? "s3"));
}

/** Like `mobileRun` for arguments the export rejects: the error is caught inside the program. */
export function rejectedMobileRun(args: Record<string, unknown>, name = "linear-mobile"): Promise<MockRun<unknown>> {
  return runInMocks(() => {
    try {
      return declare(args as TestArgs, name, "s3");
    } catch (err) {
      return err;
    }
  });
}

/** The pod spec of the export's Job. */
export function podOf(run: MockRun<unknown>, job = "linear-mobile-v3"): PropertyMap {
  return run.get(JOB_TYPE, job).inputs.spec.template.spec;
}

export function container(podSpec: PropertyMap, name: string): PropertyMap {
  const found = [...(podSpec.initContainers ?? []), ...podSpec.containers].find((c: PropertyMap) => c.name === name);
  if (!found) throw new Error(`no container ${name}`);
  return found;
}

/** A container's environment as a record (valueFrom entries as their source). */
export function envRecord(c: PropertyMap): Record<string, unknown> {
  return Object.fromEntries((c.env as PropertyMap[]).map((e) => [e.name, e.value ?? e.valueFrom]));
}

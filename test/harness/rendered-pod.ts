/**
 * Runs the containers of a pod the program rendered (under mocks) on this machine, as the kubelet would
 * start them: the pod's volumes become directories (emptyDirs and PVCs empty; ConfigMaps and Secrets, with
 * the SecretPatches that target them, written out as the files a volume would show), and each container
 * runs with its rendered command, args and env: paths under a mount are moved to the volume's directory and
 * env from Secrets is resolved. Nothing else is inherited. What differs on this machine (the store's
 * address, where the AWS CLI lives, a shorter sync interval) is passed as explicit overrides.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { MockRun, PropertyMap, RecordedResource } from "./pulumi-mocks";
import { type CommandResult, type RunningProcess, run as runCommand, startProcess } from "./s3-server";

const objectName = (r: RecordedResource) => (r.inputs.metadata?.name as string | undefined) ?? r.name;

/** Env overrides: a value replaces the rendered one, `undefined` removes it. */
export type EnvOverrides = Record<string, string | undefined>;

export interface ContainerProcess {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** A container started in the background. */
export type RunningContainer = RunningProcess;

export class LocalPod {
  private readonly volumes = new Map<string, string>();

  constructor(
    private readonly run: MockRun<unknown>,
    private readonly namespace: string,
    private readonly podSpec: PropertyMap,
    private readonly root: string,
  ) {
    for (const volume of podSpec.volumes as PropertyMap[]) {
      const dir = join(root, "volumes", volume.name);
      mkdirSync(dir, { recursive: true });
      this.volumes.set(volume.name, dir);
      if (volume.configMap) this.writeFiles(dir, this.object("ConfigMap", volume.configMap.name).inputs.data, volume.configMap.defaultMode);
      else if (volume.secret) this.writeFiles(dir, this.secretData(volume.secret.secretName), volume.secret.defaultMode);
      else if (!volume.emptyDir && !volume.persistentVolumeClaim) throw new Error(`volume ${volume.name}: kind not supported here`);
    }
  }

  /** The directory standing in for a volume. */
  volumeDir(name: string): string {
    const dir = this.volumes.get(name);
    if (!dir) throw new Error(`no volume ${name}`);
    return dir;
  }

  container(name: string): PropertyMap {
    const found = [...(this.podSpec.initContainers ?? []), ...this.podSpec.containers].find((c: PropertyMap) => c.name === name);
    if (!found) throw new Error(`no container ${name}`);
    return found;
  }

  /** A container's process on this machine; `path` is PATH (a container's image provides its own). */
  process(name: string, options: { path: string; overrides?: EnvOverrides }): ContainerProcess {
    const container = this.container(name);
    const mounts = ((container.volumeMounts ?? []) as PropertyMap[])
      .map((m) => ({ path: m.mountPath as string, local: join(this.volumeDir(m.name), m.subPath ?? "") }))
      .sort((a, b) => b.path.length - a.path.length);
    const local = (value: string) => {
      const mount = mounts.find((m) => value === m.path || value.startsWith(`${m.path}/`));
      return mount ? mount.local + value.slice(mount.path.length) : value;
    };
    const env: NodeJS.ProcessEnv = { PATH: options.path };
    for (const variable of (container.env ?? []) as PropertyMap[]) {
      if (variable.value !== undefined) env[variable.name] = local(String(variable.value));
      else if (variable.valueFrom?.secretKeyRef) {
        const ref = variable.valueFrom.secretKeyRef;
        const value = this.secretData(ref.name)[ref.key];
        if (value === undefined) throw new Error(`${name}: env ${variable.name} refers to missing key ${ref.key} of Secret ${ref.name}`);
        env[variable.name] = value;
      } else throw new Error(`${name}: env ${variable.name} has a source not supported here`);
    }
    for (const [key, value] of Object.entries(options.overrides ?? {})) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
    const [command, ...args] = [...((container.command ?? []) as string[]), ...((container.args ?? []) as string[])].map(local);
    return { command: command!, args, env };
  }

  /** Runs a container to completion. */
  runContainer(name: string, options: { path: string; overrides?: EnvOverrides; timeoutMs?: number }): Promise<CommandResult> {
    const p = this.process(name, options);
    return runCommand(p.command, p.args, { env: p.env, cwd: this.root, timeoutMs: options.timeoutMs ?? 120_000 });
  }

  /** Starts a long-running container (a sidecar). */
  startContainer(name: string, options: { path: string; overrides?: EnvOverrides }): RunningContainer {
    const p = this.process(name, options);
    return startProcess(p.command, p.args, { env: p.env, cwd: this.root });
  }

  private object(kind: "ConfigMap" | "Secret", name: string): RecordedResource {
    const found = this.run.ofType(`kubernetes:core/v1:${kind}`).find((r) => objectName(r) === name && r.inputs.metadata?.namespace === this.namespace);
    if (!found) throw new Error(`no ${kind} ${this.namespace}/${name} in the run`);
    return found;
  }

  /** A Secret's decoded data, with the keys its SecretPatches add (server-side apply). */
  private secretData(name: string): Record<string, string> {
    const decodeAll = (data: Record<string, string> = {}) => Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
    const secret = this.object("Secret", name);
    const patches = this.run.ofType("kubernetes:core/v1:SecretPatch").filter((p) => objectName(p) === name && p.inputs.metadata?.namespace === this.namespace);
    return Object.assign({}, decodeAll(secret.inputs.data), secret.inputs.stringData, ...patches.map((p) => decodeAll(p.inputs.data)));
  }

  private writeFiles(dir: string, data: Record<string, string>, mode: number | undefined): void {
    for (const [file, content] of Object.entries(data)) {
      writeFileSync(join(dir, file), content);
      if (mode !== undefined) chmodSync(join(dir, file), mode);
    }
  }
}

/** The pod template of a rendered Deployment or Job. */
export function podTemplateOf(run: MockRun<unknown>, type: "kubernetes:apps/v1:Deployment" | "kubernetes:batch/v1:Job", name: string): PropertyMap {
  return run.get(type, name).inputs.spec.template.spec;
}

/**
 * Runs rendered Jobs that set up the store (the bucket Job, the grants' check Jobs), in order, against an
 * S3-protocol server on this machine, as Pulumi runs them before the workloads. Each Job's pod runs in the
 * Job's own namespace (the bucket Job beside the store, a grant's check beside its workload). Throws, with the
 * Job's output and the server's log, on the first that fails.
 */
export async function runStoreSetupJobs(
  run: MockRun<unknown>,
  jobs: readonly string[],
  options: { server: { endpoint: string; log(): string }; path: string; dir: string },
): Promise<void> {
  for (const job of jobs) {
    const namespace: string = run.get("kubernetes:batch/v1:Job", job).inputs.metadata.namespace;
    const pod = new LocalPod(run, namespace, podTemplateOf(run, "kubernetes:batch/v1:Job", job), join(options.dir, job));
    const overrides = { S3_ENDPOINT: options.server.endpoint, WAIT_TIMEOUT_SECONDS: "90", WAIT_INTERVAL_SECONDS: "1" };
    const result = await pod.runContainer("s3-client", { path: options.path, overrides });
    if (result.code !== 0) throw new Error(`${job} exited ${result.code}: ${result.stdout}${result.stderr}\n${options.server.log().slice(-2000)}`);
  }
}

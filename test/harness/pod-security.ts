/**
 * Checks pod specs against the Kubernetes Pod Security Standards "restricted" profile, which includes
 * every "baseline" control. The checks follow the controls of the Pod Security Standards page and the
 * `pod-security-admission` policy package (as of Kubernetes 1.35), for Linux pods:
 *
 * baseline: HostProcess, host namespaces, privileged containers, added capabilities, hostPath volumes,
 *   host ports, AppArmor, SELinux, /proc mount type, seccomp (not Unconfined), sysctls, and host fields
 *   of probes and lifecycle handlers;
 * restricted: volume types, privilege escalation, running as non-root, non-root user, seccomp
 *   (RuntimeDefault or Localhost) and capabilities (drop ALL, add at most NET_BIND_SERVICE).
 *
 * `readOnlyRootFilesystem` is not part of the standard; components assert it separately.
 */
import type { MockRun, PropertyMap, RecordedResource } from "./pulumi-mocks";

export interface PodSecurityViolation {
  /** The Pod Security Standards control, e.g. "Privilege Escalation". */
  control: string;
  /** Path of the offending field inside the pod spec (or metadata), e.g. `containers[0].securityContext.privileged`. */
  path: string;
  message: string;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- pod specs are arbitrary JSON trees */
type Json = any;

const BASELINE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);
const RESTRICTED_VOLUME_SOURCES = new Set(["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"]);
const SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);
const RESTRICTED_ADDABLE_CAPABILITIES = new Set(["NET_BIND_SERVICE"]);
const CONFINED_SECCOMP = new Set(["RuntimeDefault", "Localhost"]);
const APPARMOR_TYPES = new Set(["RuntimeDefault", "Localhost"]);

interface ContainerRef {
  path: string;
  container: Json;
}

function containersOf(spec: Json): ContainerRef[] {
  const refs: ContainerRef[] = [];
  for (const field of ["initContainers", "containers", "ephemeralContainers"]) {
    (spec[field] ?? []).forEach((container: Json, i: number) => refs.push({ path: `${field}[${i}]`, container }));
  }
  return refs;
}

/**
 * Every way a pod (its metadata and spec) breaks the "restricted" profile; empty when it meets it.
 * Pass the pod template's metadata too, so that AppArmor annotations are checked.
 */
export function restrictedViolations(spec: Json, metadata: Json = {}): PodSecurityViolation[] {
  const out: PodSecurityViolation[] = [];
  const add = (control: string, path: string, message: string) => out.push({ control, path, message });
  const podSc = spec.securityContext ?? {};
  const containers = containersOf(spec);

  // --- baseline ---
  if (podSc.windowsOptions?.hostProcess === true) add("HostProcess", "securityContext.windowsOptions.hostProcess", "must be unset or false");
  for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
    if (spec[field] === true) add("Host Namespaces", field, "must be unset or false");
  }
  (spec.volumes ?? []).forEach((volume: Json, i: number) => {
    if (volume.hostPath !== undefined) add("HostPath Volumes", `volumes[${i}].hostPath`, `volume "${volume.name}" must not be a hostPath`);
  });
  for (const sysctl of podSc.sysctls ?? []) {
    if (!BASELINE_SYSCTLS.has(sysctl.name)) add("Sysctls", "securityContext.sysctls", `sysctl "${sysctl.name}" is not in the safe set`);
  }
  checkSeLinux(podSc.seLinuxOptions, "securityContext.seLinuxOptions", add);
  if (podSc.appArmorProfile && !APPARMOR_TYPES.has(podSc.appArmorProfile.type)) {
    add("AppArmor", "securityContext.appArmorProfile.type", `must be RuntimeDefault or Localhost (got ${JSON.stringify(podSc.appArmorProfile.type)})`);
  }
  for (const [key, value] of Object.entries<string>(metadata?.annotations ?? {})) {
    if (key.startsWith("container.apparmor.security.beta.kubernetes.io/") && value !== "runtime/default" && !value.startsWith("localhost/")) {
      add("AppArmor", `metadata.annotations["${key}"]`, `must be runtime/default or localhost/<profile> (got "${value}")`);
    }
  }

  for (const { path, container } of containers) {
    const sc = container.securityContext ?? {};
    if (sc.windowsOptions?.hostProcess === true) add("HostProcess", `${path}.securityContext.windowsOptions.hostProcess`, "must be unset or false");
    if (sc.privileged === true) add("Privileged Containers", `${path}.securityContext.privileged`, "must be unset or false");
    (container.ports ?? []).forEach((port: Json, i: number) => {
      if (port.hostPort !== undefined && port.hostPort !== 0) add("Host Ports", `${path}.ports[${i}].hostPort`, `must be unset or 0 (got ${port.hostPort})`);
    });
    checkSeLinux(sc.seLinuxOptions, `${path}.securityContext.seLinuxOptions`, add);
    if (sc.appArmorProfile && !APPARMOR_TYPES.has(sc.appArmorProfile.type)) {
      add("AppArmor", `${path}.securityContext.appArmorProfile.type`, `must be RuntimeDefault or Localhost (got ${JSON.stringify(sc.appArmorProfile.type)})`);
    }
    if (sc.procMount !== undefined && sc.procMount !== "Default") add("/proc Mount Type", `${path}.securityContext.procMount`, `must be unset or Default (got "${sc.procMount}")`);
    for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
      checkHandlerHost(container[probe], `${path}.${probe}`, add);
    }
    checkHandlerHost(container.lifecycle?.postStart, `${path}.lifecycle.postStart`, add);
    checkHandlerHost(container.lifecycle?.preStop, `${path}.lifecycle.preStop`, add);
  }

  // --- restricted ---
  (spec.volumes ?? []).forEach((volume: Json, i: number) => {
    const sources = Object.keys(volume).filter((k) => k !== "name");
    for (const source of sources) {
      if (!RESTRICTED_VOLUME_SOURCES.has(source)) {
        add("Volume Types", `volumes[${i}].${source}`, `volume "${volume.name}" uses ${source}; allowed: ${[...RESTRICTED_VOLUME_SOURCES].join(", ")}`);
      }
    }
  });
  if (podSc.runAsUser === 0) add("Running as Non-root user", "securityContext.runAsUser", "must not be 0");
  const podNonRoot = podSc.runAsNonRoot === true;
  if (podSc.runAsNonRoot === false) add("Running as Non-root", "securityContext.runAsNonRoot", "must be true or unset with every container setting it to true");
  const podSeccomp = podSc.seccompProfile?.type;
  if (podSeccomp !== undefined && !CONFINED_SECCOMP.has(podSeccomp)) {
    add("Seccomp", "securityContext.seccompProfile.type", `must be RuntimeDefault or Localhost (got "${podSeccomp}")`);
  }
  for (const { path, container } of containers) {
    const sc = container.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) {
      add("Privilege Escalation", `${path}.securityContext.allowPrivilegeEscalation`, `must be false (got ${JSON.stringify(sc.allowPrivilegeEscalation)})`);
    }
    if (sc.runAsNonRoot === false || (!podNonRoot && sc.runAsNonRoot !== true)) {
      add("Running as Non-root", `${path}.securityContext.runAsNonRoot`, "must be true here or at pod level (and not false here)");
    }
    if (sc.runAsUser === 0) add("Running as Non-root user", `${path}.securityContext.runAsUser`, "must not be 0");
    const seccomp = sc.seccompProfile?.type;
    if (seccomp !== undefined ? !CONFINED_SECCOMP.has(seccomp) : !CONFINED_SECCOMP.has(podSeccomp)) {
      add("Seccomp", `${path}.securityContext.seccompProfile.type`, `must be RuntimeDefault or Localhost here or at pod level (got ${JSON.stringify(seccomp ?? podSeccomp)})`);
    }
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes("ALL")) add("Capabilities", `${path}.securityContext.capabilities.drop`, `must include ALL (got ${JSON.stringify(drop)})`);
    for (const capability of sc.capabilities?.add ?? []) {
      if (!RESTRICTED_ADDABLE_CAPABILITIES.has(capability)) add("Capabilities", `${path}.securityContext.capabilities.add`, `may only add NET_BIND_SERVICE (got "${capability}")`);
    }
  }
  return out;
}

function checkSeLinux(options: Json, path: string, add: (control: string, path: string, message: string) => void): void {
  if (!options) return;
  if (options.type !== undefined && !SELINUX_TYPES.has(options.type)) add("SELinux", `${path}.type`, `must be unset or one of container_t, container_init_t, container_kvm_t, container_engine_t (got "${options.type}")`);
  if (options.user) add("SELinux", `${path}.user`, "must be unset");
  if (options.role) add("SELinux", `${path}.role`, "must be unset");
}

function checkHandlerHost(handler: Json, path: string, add: (control: string, path: string, message: string) => void): void {
  if (!handler) return;
  if (handler.httpGet?.host) add("Probe or Lifecycle Host", `${path}.httpGet.host`, "must be unset");
  if (handler.tcpSocket?.host) add("Probe or Lifecycle Host", `${path}.tcpSocket.host`, "must be unset");
}

/** A pod template found in a Kubernetes object. */
export interface PodTemplateRef {
  /** `<Kind>/<name>` plus the path of the template inside the object. */
  label: string;
  metadata: Json;
  spec: Json;
}

/** Pod templates inside an object: Pod, workload controllers, Job, CronJob, and JobSet replicated jobs. */
export function podTemplatesOf(object: PropertyMap): PodTemplateRef[] {
  const name = `${object.kind}/${object.metadata?.name ?? "?"}`;
  switch (object.kind) {
    case "Pod":
      return [{ label: name, metadata: object.metadata ?? {}, spec: object.spec ?? {} }];
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "Job":
      return [{ label: `${name} spec.template`, metadata: object.spec?.template?.metadata ?? {}, spec: object.spec?.template?.spec ?? {} }];
    case "CronJob":
      return [
        {
          label: `${name} spec.jobTemplate.spec.template`,
          metadata: object.spec?.jobTemplate?.spec?.template?.metadata ?? {},
          spec: object.spec?.jobTemplate?.spec?.template?.spec ?? {},
        },
      ];
    case "JobSet":
      return (object.spec?.replicatedJobs ?? []).map((job: Json, i: number) => ({
        label: `${name} spec.replicatedJobs[${i}] (${job.name})`,
        metadata: job.template?.spec?.template?.metadata ?? {},
        spec: job.template?.spec?.template?.spec ?? {},
      }));
    default:
      return [];
  }
}

/** Throws, listing every violation, unless the pod spec meets the "restricted" profile. */
export function expectRestrictedPodSpec(spec: Json, label = "pod", metadata: Json = {}): void {
  const violations = restrictedViolations(spec, metadata);
  if (violations.length > 0) {
    throw new Error(`${label} breaks Pod Security "restricted":\n${violations.map((v) => `  - [${v.control}] ${v.path}: ${v.message}`).join("\n")}`);
  }
}

/**
 * Checks every pod template of every Kubernetes object in a mock run (or those `include` selects, e.g.
 * by namespace) against the "restricted" profile. Throws listing every violation; returns the number of
 * pod templates checked, so tests can assert that the check saw the pods it should have.
 */
export function expectRestrictedPods(run: MockRun<unknown>, include: (resource: RecordedResource) => boolean = () => true): number {
  const templates = run
    .kubernetesObjects()
    .filter(include)
    .flatMap((r) => podTemplatesOf(r.inputs));
  const problems = templates.flatMap((t) => restrictedViolations(t.spec, t.metadata).map((v) => `  - ${t.label} [${v.control}] ${v.path}: ${v.message}`));
  if (problems.length > 0) throw new Error(`Pod Security "restricted" violations:\n${problems.join("\n")}`);
  return templates.length;
}
